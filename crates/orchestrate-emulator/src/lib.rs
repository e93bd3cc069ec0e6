//! orchestrate-emulator
