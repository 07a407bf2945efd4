//! Reads memory counters from `/proc/self/status` (Linux only), in KiB.

/// The value of `field` (e.g. `"VmRSS"`, `"VmHWM"`) in `/proc/self/status`, in KiB.
pub fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix(field).and_then(|r| r.strip_prefix(':')) {
            let v = rest.split_whitespace().next().expect("value");
            return v.parse().expect("KiB value");
        }
    }
    panic!("field {field} not found in /proc/self/status");
}
