//! openai_responses: see the module list in main.rs.
