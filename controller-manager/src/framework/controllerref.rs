//! Controller references (upstream's ControllerRefManager): an owner claims the objects its
//! selector matches, adopting orphans by adding itself as controller owner and releasing
//! objects it controls that no longer match. Both are strategic merge patches keyed by the
//! owner's uid, with the object's own uid as a precondition, as upstream sends them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use serde_json::json;

/// The owner reference a controller sets on what it creates or adopts.
pub fn controller_ref(api_version: &str, kind: &str, name: &str, uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        name: name.to_string(),
        uid: uid.to_string(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// What an owner should do with one candidate object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Controlled by the owner and matching: it counts.
    Owned,
    /// An orphan that matches: adopt it, then it counts.
    Adopt,
    /// Controlled by the owner but no longer matching: release it.
    Release,
    /// Controlled by someone else, or not a candidate.
    Ignore,
}

/// Upstream's ClaimObject decision for `obj` and an owner with `owner_uid`.
pub fn classify(obj: &ObjectMeta, owner_uid: &str, owner_deleting: bool, matches: bool) -> Claim {
    let controller = obj
        .owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true));
    match controller {
        Some(r) if r.uid != owner_uid => Claim::Ignore,
        Some(_) if matches => Claim::Owned,
        // Owned but no longer selected: release, unless the owner is going away anyway.
        Some(_) if owner_deleting => Claim::Ignore,
        Some(_) => Claim::Release,
        None if owner_deleting || !matches || obj.deletion_timestamp.is_some() => Claim::Ignore,
        None => Claim::Adopt,
    }
}

/// Adds `owner` as controller of the object `name`.
pub async fn adopt<K>(
    api: &Api<K>,
    name: &str,
    obj_uid: &str,
    owner: &OwnerReference,
) -> Result<K, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let patch = json!({"metadata": {"ownerReferences": [owner], "uid": obj_uid}});
    api.patch(name, &PatchParams::default(), &Patch::Strategic(patch))
        .await
}

/// Removes the owner reference with `owner_uid` from the object `name`. A missing object (or
/// one recreated under another uid) counts as released.
pub async fn release<K>(
    api: &Api<K>,
    name: &str,
    obj_uid: &str,
    owner_uid: &str,
) -> Result<(), kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let patch = json!({"metadata": {"ownerReferences": [{"$patch": "delete", "uid": owner_uid}], "uid": obj_uid}});
    match api
        .patch(name, &PatchParams::default(), &Patch::Strategic(patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 422 => Ok(()),
        Err(e) => Err(e),
    }
}

/// True for a 404 from the API server.
pub fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// True for a 409 from the API server (conflict or already exists).
pub fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn meta(controller: Option<&str>, deleting: bool) -> ObjectMeta {
        ObjectMeta {
            owner_references: controller.map(|uid| vec![controller_ref("v1", "X", "x", uid)]),
            deletion_timestamp: deleting.then_some(
                k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                    k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
                ),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn claims_as_upstream() {
        let cases = [
            (meta(Some("me"), false), false, true, Claim::Owned),
            (meta(Some("me"), false), false, false, Claim::Release),
            (meta(Some("me"), false), true, false, Claim::Ignore),
            (meta(Some("other"), false), false, true, Claim::Ignore),
            (meta(None, false), false, true, Claim::Adopt),
            (meta(None, false), true, true, Claim::Ignore),
            (meta(None, false), false, false, Claim::Ignore),
            (meta(None, true), false, true, Claim::Ignore),
        ];
        for (i, (m, owner_deleting, matches, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                classify(&m, "me", owner_deleting, matches),
                want,
                "case {i}"
            );
        }
    }
}
