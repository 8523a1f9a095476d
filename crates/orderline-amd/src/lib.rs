//! Answering-machine detection (AMD): classify an answered call from its first
//! audio as a human, a machine, or unknown. Sans-IO: fed 8 kHz linear samples,
//! never reads a clock.
