//! What the gateway did, counted per isolate for `/v1/health` (by outcome code and track) and,
//! with a `METRICS` Workers Analytics Engine binding, written as data points: one per rejection
//! and one per `gateway.metrics_sample_every` accepted requests, weighted so that sums count
//! requests. Fields (README "Visibility"): index = track; blobs = outcome code, track, alg,
//! route; doubles = HTTP status, weight. Never a token, a subject or a path: a track not in the
//! policy's table is counted as `other`, so a client cannot grow the table.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use serde_json::{json, Value};
use worker::{AnalyticsEngineDataPointBuilder, AnalyticsEngineDataset, Env};

use crate::policy::Verified;
use crate::track::TrackTable;

/// Binding name of the optional Analytics Engine dataset.
pub const BINDING: &str = "METRICS";

/// One request's outcome.
pub struct Outcome<'a> {
    /// `ok`, `anonymous`, or the error code.
    pub code: &'a str,
    /// HTTP status answered (or 200 for a request forwarded).
    pub status: u16,
    /// The verified token, when the token verified.
    pub verified: Option<&'a Verified>,
    /// Index of the route that matched (`None`: the default route or none decided).
    pub route: Option<usize>,
}

/// Per-isolate counters and the optional dataset.
pub struct Metrics {
    /// Code → track → count (nested so a request already counted allocates nothing).
    outcomes: RefCell<BTreeMap<String, BTreeMap<String, u64>>>,
    accepted: Cell<u64>,
    dataset: Option<AnalyticsEngineDataset>,
    sample_every: u64,
    known_tracks: Vec<String>,
}

impl Metrics {
    /// Counters for the policy's tracks, writing to `METRICS` when it is bound.
    pub fn new(env: &Env, tracks: &TrackTable, sample_every: u64) -> Self {
        Self {
            outcomes: RefCell::default(),
            accepted: Cell::new(0),
            dataset: env.analytics_engine(BINDING).ok(),
            sample_every: sample_every.max(1),
            known_tracks: tracks.ceilings.keys().cloned().collect(),
        }
    }

    fn track_label<'a>(&self, verified: Option<&'a Verified>) -> &'a str {
        match verified.and_then(|v| v.track.track.as_deref()) {
            None => "none",
            Some(t) if self.known_tracks.iter().any(|k| k == t) => t,
            Some(_) => "other",
        }
    }

    /// Counts one request and writes its data point when it is sampled.
    pub fn record(&self, outcome: &Outcome) {
        let track = self.track_label(outcome.verified);
        {
            let mut outcomes = self.outcomes.borrow_mut();
            if !outcomes.contains_key(outcome.code) {
                outcomes.insert(outcome.code.to_owned(), BTreeMap::new());
            }
            if let Some(tracks) = outcomes.get_mut(outcome.code) {
                match tracks.get_mut(track) {
                    Some(n) => *n += 1,
                    None => {
                        tracks.insert(track.to_owned(), 1);
                    }
                }
            }
        }
        let Some(dataset) = &self.dataset else {
            return;
        };
        let refused = outcome.status >= 400;
        let weight = if refused {
            1
        } else {
            let n = self.accepted.get() + 1;
            self.accepted.set(n);
            if !n.is_multiple_of(self.sample_every) {
                return;
            }
            self.sample_every
        };
        let alg = outcome.verified.map_or("", |v| v.alg.name());
        let route = outcome
            .route
            .map_or("default".to_owned(), |i| format!("routes[{i}]"));
        #[allow(
            clippy::cast_precision_loss,
            clippy::as_conversions,
            reason = "a weight of at most 1,000,000 (gateway.metrics_sample_every) is exact in f64"
        )]
        let weight = weight as f64;
        let point = AnalyticsEngineDataPointBuilder::new()
            .indexes([track])
            .add_blob(outcome.code)
            .add_blob(track)
            .add_blob(alg)
            .add_blob(route.as_str())
            .add_double(f64::from(outcome.status))
            .add_double(weight)
            .build();
        // A write that fails costs a data point, never the request.
        let _ = dataset.write_data_point(&point);
    }

    /// The counters, for `/v1/health`: `{ "<code>": { "<track>": n } }`.
    pub fn describe(&self) -> Value {
        let mut by_code = serde_json::Map::new();
        for (code, tracks) in self.outcomes.borrow().iter() {
            by_code.insert(code.clone(), json!(tracks));
        }
        Value::Object(by_code)
    }
}
