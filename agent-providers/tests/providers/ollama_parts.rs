//! ollama_parts: see the module list in main.rs.
