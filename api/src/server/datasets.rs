//! The incidents held in memory for the analyses, one [`Dataset`] per data version.
//!
//! A hotspot, zone or plan request that misses the result cache used to read every
//! incident from SQLite and project it again: 13 s for a map viewport over six million
//! incidents. The server now loads and projects them once per data version (at start, and
//! on the first request after an import) and every analysis filters that table. While a new
//! version loads, the previous one is dropped first, so memory never holds two.

use super::error::AppError;
use super::state::AppState;
use crate::app::analysis;
use crate::app::dataset::Dataset;
use crate::app::hotspots::FilterRequest;
use std::sync::{Arc, Mutex};

/// The dataset of the latest data version read.
#[derive(Default)]
pub struct DatasetCache {
    current: Mutex<Option<(i64, Arc<Dataset>)>>,
    /// One load at a time; the others wait for it.
    loading: tokio::sync::Mutex<()>,
}

impl DatasetCache {
    /// The dataset held, if it is of `version` or newer: a request that read its version
    /// just before an import uses the newer rows (its cached answer then looks older than
    /// its data and is computed again, never the other way round), rather than loading the
    /// old version back.
    fn held(&self, version: i64) -> Option<Arc<Dataset>> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        current
            .as_ref()
            .filter(|(v, _)| *v >= version)
            .map(|(_, d)| Arc::clone(d))
    }

    /// The data version of the incidents held, if any.
    pub fn loaded_version(&self) -> Option<i64> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        current.as_ref().map(|(v, _)| *v)
    }

    /// The incidents of data version `version` or newer (the version is read before
    /// calling, so an import racing with the load makes the dataset look older than its
    /// rows, and it is loaded again on the next request; never newer).
    pub async fn get(&self, state: &AppState, version: i64) -> Result<Arc<Dataset>, AppError> {
        if let Some(d) = self.held(version) {
            return Ok(d);
        }
        let _one_at_a_time = self.loading.lock().await;
        if let Some(d) = self.held(version) {
            return Ok(d);
        }
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let started = std::time::Instant::now();
        let points = state.db.run(|s| s.incident_points()).await?;
        let (crs, tz) = (state.config.crs, state.config.tz.clone());
        let data = tokio::task::spawn_blocking(move || {
            let data = Dataset::new(crs, &tz, points);
            // The map's usual selections, so its first viewport reads only its own rows.
            for window in ["weekend-nights", "all"] {
                let request = FilterRequest {
                    window: window.into(),
                    ..FilterRequest::default()
                };
                if let Ok(filters) = request.to_filters() {
                    analysis::summarise(&data, &filters);
                }
            }
            data
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("loading the incidents failed: {e}")))?;
        let data = Arc::new(data);
        tracing::info!(
            version,
            incidents = data.len(),
            mib = data.heap_bytes() >> 20,
            seconds = started.elapsed().as_secs_f64(),
            "incidents loaded for analysis"
        );
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((version, Arc::clone(&data)));
        Ok(data)
    }

    /// Loads the current version's incidents in the background (at start, so the first map
    /// request does not wait for them).
    pub fn warm(state: &AppState) {
        let weak = state.downgrade();
        tokio::spawn(async move {
            let Some(state) = weak.upgrade() else { return };
            let loaded = async {
                let version = state.versions.get(&state.db).await?.data;
                state.datasets.get(&state, version).await
            };
            if let Err(e) = loaded.await {
                tracing::warn!("could not load the incidents ahead of the first request: {e:?}");
            }
        });
    }
}
