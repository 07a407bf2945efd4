//! Names the task in panic reports: a panic hook, installed once and chained in front
//! of whatever hook was there, prints which G panicked before the usual report
//! (whose thread name is the M's, which says little).

use std::sync::Once;

pub(crate) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some((id, name)) = crate::task::CurrentTask::get() {
                match name {
                    Some(name) => eprintln!("gort: panic in task '{name}' ({id}):"),
                    None => eprintln!("gort: panic in task {id}:"),
                }
            }
            previous(info);
        }));
    });
}
