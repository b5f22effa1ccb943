//! Authentication: who is asking. Static bearer tokens from a kube-apiserver token file
//! (`--token-auth-file`, CSV `token,user,uid,"group1,group2"`), the admin token generated when
//! no such file is given, and identities from client certificates signed by the cluster CA
//! (taken from the TLS connection by `serve`). Authorization is a later stage.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::tls::{TlsError, create_private_dir, write_file_atomic};

pub const SYSTEM_MASTERS: &str = "system:masters";
pub const SYSTEM_AUTHENTICATED: &str = "system:authenticated";
pub const SYSTEM_UNAUTHENTICATED: &str = "system:unauthenticated";
pub const ANONYMOUS_USER: &str = "system:anonymous";
/// The generated admin credentials, in `--cert-dir`.
pub const ADMIN_TOKEN_FILE: &str = "admin-token.csv";
pub const ADMIN_USER: &str = "admin";

/// The authenticated user of a request, in request extensions for the handlers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
}

impl UserInfo {
    /// An authenticated user; like kube-apiserver, every one is also in
    /// `system:authenticated`, which default RBAC bindings rely on.
    pub fn authenticated(name: String, uid: String, mut groups: Vec<String>) -> Self {
        if !groups.iter().any(|g| g == SYSTEM_AUTHENTICATED) {
            groups.push(SYSTEM_AUTHENTICATED.to_string());
        }
        Self { name, uid, groups }
    }

    /// The user of requests without credentials to the public endpoints.
    pub fn anonymous() -> Self {
        Self {
            name: ANONYMOUS_USER.to_string(),
            uid: String::new(),
            groups: vec![SYSTEM_UNAUTHENTICATED.to_string()],
        }
    }

    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

/// A verified client-certificate identity, put into request extensions by `serve` for every
/// request on that connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertUser(pub UserInfo);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("token file {}, line {line}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: no token for a user in group {SYSTEM_MASTERS}", path.display())]
    NoAdminToken { path: PathBuf },
    #[error(transparent)]
    Write(#[from] TlsError),
}

/// One line of a token file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEntry {
    pub token: String,
    pub user: UserInfo,
}

/// Parses kube-apiserver's static token file format: `token,user,uid[,"group1,group2"]`,
/// fields may be quoted (CSV), leading spaces are ignored, blank lines skipped, columns after
/// the fourth ignored. `path` only names the file in errors.
pub fn parse_token_csv(text: &str, path: &Path) -> Result<Vec<TokenEntry>, AuthError> {
    let mut entries = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let err = |message: String| AuthError::Parse {
            path: path.to_path_buf(),
            line,
            message,
        };
        if raw.trim().is_empty() {
            continue;
        }
        let fields = split_csv_line(raw).map_err(err)?;
        if fields.len() < 3 {
            return Err(err(format!(
                "must have at least 3 columns (token, user name, user uid), found {}",
                fields.len()
            )));
        }
        if fields[0].is_empty() {
            return Err(err("empty token".into()));
        }
        if fields[1].is_empty() {
            return Err(err("empty user name".into()));
        }
        let groups = fields
            .get(3)
            .map(|g| {
                g.split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let mut fields = fields.into_iter();
        let (token, name, uid) = match (fields.next(), fields.next(), fields.next()) {
            (Some(t), Some(n), Some(u)) => (t, n, u),
            _ => return Err(err("must have at least 3 columns".into())),
        };
        entries.push(TokenEntry {
            token,
            user: UserInfo::authenticated(name, uid, groups),
        });
    }
    Ok(entries)
}

pub fn read_token_file(path: &Path) -> Result<Vec<TokenEntry>, AuthError> {
    let text = fs::read_to_string(path).map_err(|source| AuthError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_token_csv(&text, path)
}

/// One line of a token file for `token` and `user` (without the implicit
/// `system:authenticated`), newline-terminated.
pub fn format_token_line(token: &str, user: &UserInfo) -> String {
    let groups: Vec<&str> = user
        .groups
        .iter()
        .map(String::as_str)
        .filter(|g| *g != SYSTEM_AUTHENTICATED)
        .collect();
    let mut line = [token, &user.name, &user.uid]
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    if !groups.is_empty() {
        line.push(',');
        line.push_str(&csv_field(&groups.join(",")));
    }
    line.push('\n');
    line
}

/// The first token of a `system:masters` user: the one an admin kubeconfig carries.
pub fn admin_token_in(entries: &[TokenEntry]) -> Option<&str> {
    entries
        .iter()
        .find(|e| e.user.in_group(SYSTEM_MASTERS))
        .map(|e| e.token.as_str())
}

/// A new random bearer token: 32 bytes from the OS-seeded CSPRNG, base64url (43 characters,
/// safe in CSV, headers and YAML without quoting).
pub fn generate_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The admin token for when no `--token-auth-file` is given: read from
/// `<cert_dir>/admin-token.csv`, or generated once for user `admin` in `system:masters` and
/// written there (0600), in the token-file format so `--token-auth-file` can point at it.
pub fn ensure_admin_token(cert_dir: &Path) -> Result<String, AuthError> {
    let path = cert_dir.join(ADMIN_TOKEN_FILE);
    if path.exists() {
        let entries = read_token_file(&path)?;
        return admin_token_in(&entries)
            .map(str::to_string)
            .ok_or(AuthError::NoAdminToken { path });
    }
    create_private_dir(cert_dir)?;
    let token = generate_token();
    let user = UserInfo::authenticated(
        ADMIN_USER.to_string(),
        ADMIN_USER.to_string(),
        vec![SYSTEM_MASTERS.to_string()],
    );
    write_file_atomic(&path, format_token_line(&token, &user).as_bytes(), 0o600)?;
    Ok(token)
}

/// The `Authorization: Bearer <token>` token, parsed as kube-apiserver does (scheme
/// case-insensitive, token up to the next space). `None` when the header carries no bearer
/// token at all (other schemes, empty token), which is not the same as a wrong token.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let mut parts = authorization.trim().splitn(3, ' ');
    let scheme = parts.next()?;
    let token = parts.next()?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Static bearer tokens. Tokens are kept as SHA-256 digests: a lookup's timing then depends
/// on the digest of what the client sent, not on how much of a real token it guessed, and the
/// process holds no token in clear. Tokens can be added at run time.
#[derive(Debug, Default)]
pub struct TokenAuthenticator {
    tokens: RwLock<HashMap<[u8; 32], UserInfo>>,
}

impl TokenAuthenticator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn from_entries(entries: impl IntoIterator<Item = TokenEntry>) -> Self {
        let auth = Self::new();
        for entry in entries {
            auth.add_token(&entry.token, entry.user);
        }
        auth
    }

    pub fn from_file(path: &Path) -> Result<Self, AuthError> {
        Ok(Self::from_entries(read_token_file(path)?))
    }

    /// Adds (or replaces, as a later line of a token file does) a token.
    pub fn add_token(&self, token: &str, user: UserInfo) {
        let user = UserInfo::authenticated(user.name, user.uid, user.groups);
        self.write().insert(digest(token), user);
    }

    pub fn remove_token(&self, token: &str) -> bool {
        self.write().remove(&digest(token)).is_some()
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn authenticate_token(&self, token: &str) -> Option<UserInfo> {
        self.read().get(&digest(token)).cloned()
    }

    /// The user for an `Authorization` header value, if it carries a known bearer token.
    pub fn authenticate(&self, authorization_header: Option<&str>) -> Option<UserInfo> {
        self.authenticate_token(bearer_token(authorization_header?)?)
    }

    // A panic elsewhere while holding the lock cannot leave the map half-updated (inserts and
    // removes are single calls), so a poisoned lock is still safe to use.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<[u8; 32], UserInfo>> {
        self.tokens.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<[u8; 32], UserInfo>> {
        self.tokens.write().unwrap_or_else(PoisonError::into_inner)
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Paths anyone may read without credentials, as upstream's `system:public-info-viewer` role
/// grants to `system:unauthenticated`: health and version.
pub fn is_public_path(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/livez" | "/readyz" | "/version" | "/version/"
    ) || ["/healthz/", "/livez/", "/readyz/"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

/// All authenticators of a request, in kube-apiserver's order: client certificate, then bearer
/// token; requests without credentials are anonymous on the public paths and rejected
/// elsewhere. A bearer token that matches nobody is rejected even on public paths, as
/// upstream does.
#[derive(Debug, Clone)]
pub struct Authenticator {
    tokens: Arc<TokenAuthenticator>,
    bootstrap: Option<crate::bootstraptoken::BootstrapTokenAuthenticator>,
}

impl Authenticator {
    pub fn new(tokens: Arc<TokenAuthenticator>) -> Self {
        Self {
            tokens,
            bootstrap: None,
        }
    }

    /// Also accepts bootstrap tokens (`<id>.<secret>`, checked against their Secrets), after
    /// the static tokens.
    pub fn with_bootstrap_tokens(
        mut self,
        bootstrap: crate::bootstraptoken::BootstrapTokenAuthenticator,
    ) -> Self {
        self.bootstrap = Some(bootstrap);
        self
    }

    /// The token store, for adding tokens at run time.
    pub fn tokens(&self) -> &Arc<TokenAuthenticator> {
        &self.tokens
    }

    /// `None` means 401.
    pub fn authenticate(
        &self,
        authorization_header: Option<&str>,
        client_cert: Option<&UserInfo>,
        path: &str,
    ) -> Option<UserInfo> {
        if let Some(user) = client_cert {
            return Some(user.clone());
        }
        match authorization_header.and_then(bearer_token) {
            Some(token) => self.tokens.authenticate_token(token).or_else(|| {
                self.bootstrap
                    .as_ref()
                    .and_then(|b| b.authenticate_token(token))
            }),
            None => is_public_path(path).then(UserInfo::anonymous),
        }
    }
}

/// Splits one CSV record (RFC 4180 quoting, leading spaces trimmed like Go's
/// `csv.Reader{TrimLeadingSpace: true}` that kube-apiserver uses).
fn split_csv_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        let mut field = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    Some('"') if chars.next_if_eq(&'"').is_some() => field.push('"'),
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("unterminated quoted field".into()),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(c) => return Err(format!("unexpected {c:?} after a closing quote")),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => return Err("bare \" in an unquoted field".into()),
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) || value.starts_with([' ', '\t']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn parse(text: &str) -> Result<Vec<TokenEntry>, AuthError> {
        parse_token_csv(text, Path::new("tokens.csv"))
    }

    #[test]
    fn parses_kube_apiserver_token_files() {
        let entries = parse(
            "abc,alice,1001,\"dev,ops\"\n\
             \n\
             def, bob, 1002\n\
             ghi,carol,1003,admins,extra-column\n\
             \"j,k\",\"d\"\"q\",1004,\"\"\r\n",
        )
        .unwrap();
        let summary: Vec<(&str, &str, &str, Vec<&str>)> = entries
            .iter()
            .map(|e| {
                (
                    e.token.as_str(),
                    e.user.name.as_str(),
                    e.user.uid.as_str(),
                    e.user.groups.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "abc",
                    "alice",
                    "1001",
                    vec!["dev", "ops", SYSTEM_AUTHENTICATED]
                ),
                ("def", "bob", "1002", vec![SYSTEM_AUTHENTICATED]),
                ("ghi", "carol", "1003", vec!["admins", SYSTEM_AUTHENTICATED]),
                ("j,k", "d\"q", "1004", vec![SYSTEM_AUTHENTICATED]),
            ]
        );
    }

    #[test]
    fn bad_lines_name_the_line() {
        let cases = [
            ("a,b,c\nonly,two\n", 2, "at least 3 columns"),
            ("\"open,b,c\n", 1, "unterminated"),
            ("a,b,c\n\na\"b,c,d\n", 3, "bare"),
            ("\"a\"x,b,c\n", 1, "after a closing quote"),
            (",b,c\n", 1, "empty token"),
            ("t,,c\n", 1, "empty user"),
        ];
        for (text, line, needle) in cases {
            let err = parse(text).unwrap_err();
            match &err {
                AuthError::Parse { line: got, .. } => assert_eq!(*got, line, "{text:?}: {err}"),
                other => panic!("{text:?}: unexpected {other}"),
            }
            let message = err.to_string();
            assert!(message.contains(needle), "{text:?}: {message}");
            assert!(message.contains("tokens.csv"), "{message}");
        }
    }

    #[test]
    fn format_round_trips() {
        let user = UserInfo::authenticated(
            "weird, \"name\"".into(),
            " uid".into(),
            vec!["g1".into(), "g2".into()],
        );
        let line = format_token_line("tok", &user);
        let entries = parse(&line).unwrap();
        assert_eq!(entries[0].token, "tok");
        assert_eq!(entries[0].user, user);
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("  BEARER abc  "), Some("abc"));
        assert_eq!(bearer_token("Bearer abc def"), Some("abc"));
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Basic YWRtaW46YWRtaW4="), None);
    }

    #[test]
    fn token_authenticator_lookup_and_runtime_changes() {
        let auth = TokenAuthenticator::from_entries(parse("t1,alice,1,\"a,b\"\n").unwrap());
        let alice = auth.authenticate(Some("Bearer t1")).unwrap();
        assert_eq!(alice.name, "alice");
        assert!(alice.in_group("a") && alice.in_group(SYSTEM_AUTHENTICATED));
        assert_eq!(auth.authenticate(Some("Bearer t2")), None);
        assert_eq!(auth.authenticate(None), None);

        auth.add_token(
            "t2",
            UserInfo {
                name: "bob".into(),
                ..UserInfo::default()
            },
        );
        let bob = auth.authenticate(Some("bearer t2")).unwrap();
        assert_eq!(bob.groups, vec![SYSTEM_AUTHENTICATED]);
        assert_eq!(auth.len(), 2);
        assert!(auth.remove_token("t1"));
        assert_eq!(auth.authenticate(Some("Bearer t1")), None);
    }

    #[test]
    fn admin_token_is_generated_once() {
        let dir = tempfile::tempdir().unwrap();
        let certs = dir.path().join("certs");
        let token = ensure_admin_token(&certs).unwrap();
        assert_eq!(token.len(), 43);
        let path = certs.join(ADMIN_TOKEN_FILE);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(ensure_admin_token(&certs).unwrap(), token);

        let auth = TokenAuthenticator::from_file(&path).unwrap();
        let admin = auth.authenticate(Some(&format!("Bearer {token}"))).unwrap();
        assert_eq!(admin.name, ADMIN_USER);
        assert!(admin.in_group(SYSTEM_MASTERS));
        assert_ne!(generate_token(), generate_token());
    }

    #[test]
    fn admin_token_file_without_admin_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(ADMIN_TOKEN_FILE), "t,bob,1\n").unwrap();
        let err = ensure_admin_token(dir.path()).unwrap_err();
        assert!(matches!(err, AuthError::NoAdminToken { .. }), "{err}");
    }

    #[test]
    fn authenticator_order_and_anonymous_paths() {
        let tokens = Arc::new(TokenAuthenticator::new());
        tokens.add_token(
            "good",
            UserInfo::authenticated("u".into(), "".into(), vec![]),
        );
        let authn = Authenticator::new(tokens);
        let cert_user = UserInfo::authenticated("node".into(), "".into(), vec![]);

        assert_eq!(
            authn
                .authenticate(Some("Bearer good"), None, "/api")
                .unwrap()
                .name,
            "u"
        );
        assert_eq!(authn.authenticate(Some("Bearer bad"), None, "/api"), None);
        assert_eq!(authn.authenticate(None, None, "/api"), None);
        assert_eq!(authn.authenticate(Some("Basic x"), None, "/api"), None);
        assert_eq!(
            authn
                .authenticate(Some("Bearer bad"), Some(&cert_user), "/api")
                .unwrap()
                .name,
            "node"
        );
        for path in ["/healthz", "/livez", "/readyz", "/version", "/readyz/ping"] {
            assert_eq!(
                authn.authenticate(None, None, path),
                Some(UserInfo::anonymous()),
                "{path}"
            );
            assert_eq!(
                authn.authenticate(Some("Bearer bad"), None, path),
                None,
                "{path}"
            );
        }
        for path in [
            "/",
            "/api",
            "/healthzx",
            "/versions",
            "/metrics",
            "/openapi/v2",
        ] {
            assert_eq!(authn.authenticate(None, None, path), None, "{path}");
        }
    }
}
