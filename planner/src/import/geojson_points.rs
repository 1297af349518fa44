//! geojson_points
