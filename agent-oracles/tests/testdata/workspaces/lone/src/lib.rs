//! lone
