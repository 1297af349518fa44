//! Harm weights per category (see issue 3).
