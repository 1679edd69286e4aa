//! anthropic_parts: see the module list in main.rs.
