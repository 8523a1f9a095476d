//! The API's JSON request bodies (issue #14): the first byte picks the route
//! (orders, decision, rules, disposition, payment, dialer mode settings,
//! agent state), the rest is the body. `orderline::api::fuzzing::check`
//! runs the parser the handler runs and asserts: no panic; a value, or a
//! 4xx whose `field` names what to fix (only non-JSON may leave it out);
//! what is accepted keeps its invariants (a callback has a future time, a
//! payment is more than zero, a pause code is configured).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    orderline::api::fuzzing::check(data);
});
