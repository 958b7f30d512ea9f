//! Fault injection for tests, compiled into debug builds only.
//!
//! Some faults cannot be caused from outside a process on demand (a fatal client error at the
//! Nth commit, a crash between two steps of the commit protocol, a commit that never ends), so
//! the tests arm them through environment variables. In a release build (`make build`, the
//! image, the bench) [`hook`] is a constant `None`: no variable is read and the names are not
//! in the binary (the image's test looks for them).

/// Every hook's variable.
pub const HOOKS: [&str; 8] = [
    "SLUICE_FAIL_COMMIT_AT",
    "SLUICE_MESSAGE_TIMEOUT_MS",
    "SLUICE_CRASH_POINT",
    "SLUICE_CRASH_AT_COMMIT",
    "SLUICE_FETCH_STALL_SECONDS",
    "SLUICE_FREEZE_FETCH_AFTER",
    "SLUICE_FREEZE_FETCH_BY",
    "SLUICE_STALL_COMMIT_AT",
];

/// The value of the hook variable `name` (one of [`HOOKS`]) in a debug build; `None` in a
/// release build.
#[cfg(debug_assertions)]
pub fn hook(name: &str) -> Option<String> {
    debug_assert!(HOOKS.contains(&name), "{name} is not a listed hook");
    std::env::var(name).ok()
}

/// The value of the hook variable `name` in a debug build; `None` in a release build.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn hook(_name: &str) -> Option<String> {
    None
}
