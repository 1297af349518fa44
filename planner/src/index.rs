//! Spatial indexes (rstar R-trees in metres) over incidents and premises.
