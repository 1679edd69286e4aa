//! The agent session: a tool-using conversation with the model (being built).
