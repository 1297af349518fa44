//! `POST /api/v1/premises` and `PATCH /api/v1/premises/{id}`: premises entered or
//! corrected by hand, for liaison officers and admins.
//!
//! A created premises gets the source id `manual:<uuid>` (a random UUID v4), so it never
//! clashes with an imported one. Every change is kept: `premises_history` has one row per
//! changed field (who, when, old and new value), written in the same transaction as the
//! change and its audit entry; re-imports that change a field add rows too. Creating or
//! editing moves the data version (zones are named after venues). A later re-import of
//! the source file overwrites the fields that file carries (the history shows both).

use super::auth::Require;
use super::error::{AppError, AppJson, AppPath};
use super::policy::PremisesWrite;
use super::premises::{feature, geojson, today};
use super::state::AppState;
use crate::storage::PremisesPatch;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use planner::import::text::{TextKind, check_text};
use planner::premises::ClosingTimes;
use planner::{Premises, PremisesKind};
use rand::TryRng;
use rand::rngs::SysRng;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

/// Longest name, characters.
pub const MAX_NAME: usize = 200;
/// Longest address, postcode, licence reference or district, characters.
pub const MAX_TEXT: usize = 500;

/// A premises to create.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPremises {
    pub name: String,
    /// `pub`, `bar`, `nightclub`, `late_night_refreshment` or `other`.
    pub kind: String,
    /// WGS84 degrees.
    pub lon: f64,
    pub lat: f64,
    pub address: Option<String>,
    pub postcode: Option<String>,
    /// The council's premises licence reference.
    pub licence_ref: Option<String>,
    /// Local authority district (compared in before/after training figures).
    pub district: Option<String>,
    /// Seven closing times, Monday first, `HH:MM` local or `null` where unknown; a time
    /// before the evening means the early hours of the next day.
    pub closing: Option<Vec<Option<String>>>,
    /// Part of a Safe Space scheme.
    pub safe_space: Option<bool>,
}

/// Deserialises a present field (even `null`) as `Some`, so that an absent field
/// (`None`, via `default`) differs from one set to `null` (`Some(None)`: clear it).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A partial update: only the fields given change; `null` clears an optional text field.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PremisesChanges {
    pub name: Option<String>,
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub postcode: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub licence_ref: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub district: Option<Option<String>>,
    pub closing: Option<Vec<Option<String>>>,
    pub safe_space: Option<bool>,
    /// With `lat`: both or neither.
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

fn invalid(field: &str, reason: impl std::fmt::Display) -> AppError {
    AppError::Unprocessable(format!("{field}: {reason}"))
}

fn name_of(text: &str) -> Result<String, AppError> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > MAX_NAME {
        return Err(invalid(
            "name",
            format!("must be 1 to {MAX_NAME} characters"),
        ));
    }
    // The importers' rule: no control characters, bidi overrides or line separators.
    check_text(t, TextKind::Line).map_err(|e| invalid("name", e))?;
    Ok(t.to_string())
}

fn kind_of(text: &str) -> Result<PremisesKind, AppError> {
    PremisesKind::parse(text).ok_or_else(|| {
        invalid(
            "kind",
            format!("{text:?} is not one of pub, bar, nightclub, late_night_refreshment, other"),
        )
    })
}

/// An optional text field: trimmed, empty means none.
fn text_of(field: &str, text: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if t.chars().count() > MAX_TEXT {
        return Err(invalid(
            field,
            format!("must be at most {MAX_TEXT} characters"),
        ));
    }
    check_text(t, TextKind::Line).map_err(|e| invalid(field, e))?;
    Ok(Some(t.to_string()))
}

fn closing_of(times: &[Option<String>]) -> Result<ClosingTimes, AppError> {
    if times.len() != 7 {
        return Err(invalid(
            "closing",
            format!(
                "expected 7 closing times (Monday first, HH:MM or null), got {}",
                times.len()
            ),
        ));
    }
    let mut out = [None; 7];
    for (day, t) in times.iter().enumerate() {
        if let Some(t) = t.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            out[day] = Some(t.parse::<jiff::civil::Time>().map_err(|_| {
                invalid(
                    &format!("closing[{day}]"),
                    format!("{t:?} is not a time HH:MM"),
                )
            })?);
        }
    }
    Ok(ClosingTimes(out))
}

fn lonlat_of(lon: f64, lat: f64) -> Result<(f64, f64), AppError> {
    planner::import::check_lonlat(lon, lat).map_err(|e| {
        let field = if e.field == "latitude" { "lat" } else { "lon" };
        invalid(field, e.reason)
    })?;
    Ok((lon, lat))
}

/// `manual:` and a random UUID (version 4).
fn manual_id() -> Result<String, AppError> {
    let mut b = [0u8; 16];
    SysRng
        .try_fill_bytes(&mut b)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("random numbers: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "manual:{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

async fn feature_of(state: &AppState, id: i64) -> Result<serde_json::Value, AppError> {
    let (premises, history) = state
        .db
        .run(move |s| {
            Ok((
                s.premises_by_key(&id.to_string())?,
                s.training_with_flags()?,
            ))
        })
        .await?;
    let (id, p) =
        premises.ok_or_else(|| AppError::NotFound(format!("no premises with id {id}")))?;
    Ok(feature(id, &p, &history, today(state)))
}

/// Creates a premises entered by hand.
#[utoipa::path(
    post,
    path = "/api/v1/premises",
    tag = "data",
    request_body = NewPremises,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Created: the Feature, as `GET /api/v1/premises/{id}`; `source_id` is `manual:<uuid>`; `Location` names it. Audited; a `created` history row.", body = Object, content_type = "application/geo+json"),
        (status = 400, description = "The body is not JSON", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a liaison officer or admin", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing or invalid field, named in `detail`", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    who: Require<PremisesWrite>,
    AppJson(body): AppJson<NewPremises>,
) -> Result<Response, AppError> {
    let (lon, lat) = lonlat_of(body.lon, body.lat)?;
    let premises = Premises {
        source_id: manual_id()?,
        name: name_of(&body.name)?,
        address: text_of("address", body.address.as_deref())?,
        postcode: text_of("postcode", body.postcode.as_deref())?,
        kind: kind_of(&body.kind)?,
        lon,
        lat,
        licence_ref: text_of("licence_ref", body.licence_ref.as_deref())?,
        closing: body
            .closing
            .as_deref()
            .map(closing_of)
            .transpose()?
            .unwrap_or_default(),
        safe_space: body.safe_space.unwrap_or(false),
        district: text_of("district", body.district.as_deref())?,
    };
    let entry = who.audit(
        "premises.create",
        "premises",
        json!({"source_id": premises.source_id, "name": premises.name}),
    );
    let id = state
        .db
        .run(move |s| s.create_premises(&premises, &entry))
        .await?;
    let body = feature_of(&state, id).await?;
    let mut res = geojson(body);
    *res.status_mut() = StatusCode::CREATED;
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/premises/{id}")) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// Changes some fields of a premises, keeping the history.
#[utoipa::path(
    patch,
    path = "/api/v1/premises/{id}",
    tag = "data",
    params(("id" = String, Path, description = "Database id (e.g. `12`) or source id (percent-encoded)")),
    request_body = PremisesChanges,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The Feature after the change, with `changes` (field, old, new; empty when the values were already so). One history row per changed field; audited.", body = Object, content_type = "application/geo+json"),
        (status = 400, description = "The body is not JSON", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a liaison officer or admin", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such premises", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid field, named in `detail`, or no field to change", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    who: Require<PremisesWrite>,
    AppPath(key): AppPath<String>,
    AppJson(body): AppJson<PremisesChanges>,
) -> Result<Response, AppError> {
    let lonlat = match (body.lon, body.lat) {
        (Some(lon), Some(lat)) => Some(lonlat_of(lon, lat)?),
        (None, None) => None,
        _ => {
            return Err(invalid(
                "lon, lat",
                "give both to move a premises, or neither",
            ));
        }
    };
    let opt =
        |field: &str, v: &Option<Option<String>>| -> Result<Option<Option<String>>, AppError> {
            v.as_ref()
                .map(|inner| text_of(field, inner.as_deref()))
                .transpose()
        };
    let patch = PremisesPatch {
        name: body.name.as_deref().map(name_of).transpose()?,
        kind: body.kind.as_deref().map(kind_of).transpose()?,
        address: opt("address", &body.address)?,
        postcode: opt("postcode", &body.postcode)?,
        licence_ref: opt("licence_ref", &body.licence_ref)?,
        district: opt("district", &body.district)?,
        closing: body.closing.as_deref().map(closing_of).transpose()?,
        safe_space: body.safe_space,
        lonlat,
    };
    if patch == PremisesPatch::default() {
        return Err(AppError::Unprocessable(
            "the body names no field to change (name, kind, address, postcode, licence_ref, district, closing, safe_space, lon and lat)".into(),
        ));
    }
    let lookup = key.clone();
    let found = state
        .db
        .run(move |s| s.premises_by_key(&lookup))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no premises with id {key:?}")))?;
    let id = found.0;
    let entry = who.audit("premises.update", format!("premises:{id}"), json!({}));
    let (_, changes) = state
        .db
        .run(move |s| s.update_premises(id, &patch, &entry))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no premises with id {id}")))?;
    let mut body = feature_of(&state, id).await?;
    body["changes"] = json!(changes);
    Ok(geojson(body).into_response())
}
