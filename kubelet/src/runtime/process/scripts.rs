//! The shell the container's first process runs, and the one exec runs, kept apart so their
//! argument layout sits next to the code that builds it.
//!
//! Why a shell and not the agent re-executing itself as a shim: the agent also runs inside
//! `ferrokube up` and inside test binaries, so `current_exe()` is not always a kubelet that
//! knows a hidden subcommand; /bin/sh is on every machine this runs on, and everything it
//! does here (join cgroups, set the hostname, bind-mount volumes) is a handful of builtins
//! and util-linux's `mount`, with no `unsafe` in the agent.

/// Runs as PID 1 of the container's new pid namespace (`unshare --pid --fork` makes it so),
/// already inside the pod's network namespace and private mount, uts and ipc namespaces.
///
/// Arguments: `<hostname> <workingDir or ""> <exit file> <n> <cgroup.procs files…> <m>
/// (<host path> <container path> <ro|rw>)… -- <command> <args…>`.
///
/// It joins the container's cgroups before anything else runs, so the command is limited from
/// its first instruction (writing "0" moves the writer itself, whatever its pid in this
/// namespace). Setup failures go back to the agent on stdin (a pipe the agent reads: `ok` or
/// `error: …`), so start_container can report them.
///
/// The command then runs as PID 2 with this shell as its init, like `docker run --init`
/// (tini): the shell forwards SIGTERM (an init without a handler would ignore the agent's
/// SIGTERM and every graceful stop would wait for the whole grace period), reaps orphans, and
/// records the command's exit status in the exit file — a status that `unshare` cannot
/// report reliably (it exits 1 when its child was SIGKILLed). No exit file after the
/// container ended means PID 1 itself was SIGKILLed.
pub const INIT: &str = r#"
__fk_path=$PATH
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
__fk_fail() { printf 'error: %s\n' "$*" >&0; exit 128; }
__fk_hostname=$1 __fk_wd=$2 __fk_exit=$3 __fk_n=$4
shift 4
while [ "$__fk_n" -gt 0 ]; do
  echo 0 > "$1" || __fk_fail "joining cgroup $1"
  shift; __fk_n=$((__fk_n - 1))
done
__fk_n=$1
shift
printf '%s' "$__fk_hostname" > /proc/sys/kernel/hostname || __fk_fail "setting the hostname"
while [ "$__fk_n" -gt 0 ]; do
  if [ "$3" = ro ]; then __fk_o=bind,ro; else __fk_o=bind; fi
  __fk_err=$(mount -o "$__fk_o" -- "$1" "$2" 2>&1) || __fk_fail "mounting $1 at $2: $__fk_err"
  shift 3; __fk_n=$((__fk_n - 1))
done
[ "$1" = -- ] || __fk_fail "bad arguments"
shift
if [ -n "$__fk_wd" ]; then
  mkdir -p "$__fk_wd" 2>/dev/null
  cd "$__fk_wd" 2>/dev/null || __fk_fail "changing to working directory $__fk_wd"
fi
PATH=$__fk_path
__fk_child=
__fk_term=
trap '__fk_term=1; [ -n "$__fk_child" ] && kill -TERM "$__fk_child" 2>/dev/null' TERM
printf 'ok\n' >&0
"$@" </dev/null &
__fk_child=$!
exec 0</dev/null
[ -n "$__fk_term" ] && kill -TERM "$__fk_child" 2>/dev/null
while :; do
  wait "$__fk_child"
  __fk_st=$?
  # wait also returns >128 when the trap interrupted it; the command is then still there.
  if [ "$__fk_st" -gt 128 ] && kill -0 "$__fk_child" 2>/dev/null; then continue; fi
  break
done
printf '%s\n' "$__fk_st" > "$__fk_exit"
exit "$__fk_st"
"#;

/// Runs an exec'd command (exec probes) inside the container: nsenter has already entered its
/// namespaces; this joins its cgroups, so the command counts against the container's limits
/// as upstream's exec does. Arguments: `<cgroup.procs files…> -- <command> <args…>`.
pub const EXEC: &str = r#"
while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
  echo 0 > "$1" 2>/dev/null
  shift
done
shift
exec "$@"
"#;
