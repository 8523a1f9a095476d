//! IVR flows (confirm, payment, upsell) as sans-IO state machines over call events.
