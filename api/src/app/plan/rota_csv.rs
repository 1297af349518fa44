//! The rota as CSV: one row per unit per slot, with local and UTC times.

use super::Rota;
use anyhow::anyhow;
use planner::rota::Assignment;

fn safe(field: &str) -> String {
    planner::export::spreadsheet_safe(field).into_owned()
}

fn describe(r: &Rota, a: &Assignment) -> (&'static str, String, String, String) {
    let zone = |i: Option<usize>| match i {
        Some(i) => r
            .problem
            .zones()
            .get(i)
            .map(|z| z.id.clone())
            .unwrap_or_default(),
        None => "station".to_string(),
    };
    let name = |i: usize| {
        r.problem
            .zones()
            .get(i)
            .map(|z| z.name.clone())
            .unwrap_or_default()
    };
    match *a {
        Assignment::Zone(i) => ("zone", zone(Some(i)), name(i), String::new()),
        Assignment::Travel { from, to } => ("travel", zone(to), String::new(), zone(from)),
        Assignment::Break => ("break", String::new(), String::new(), String::new()),
        Assignment::Off => ("off", String::new(), String::new(), String::new()),
    }
}

/// One row per unit per slot.
pub fn rota_csv(r: &Rota) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "callsign",
        "slot",
        "start_local",
        "end_local",
        "start_utc",
        "activity",
        "zone",
        "zone_name",
        "from",
    ])?;
    for (u, row) in r.plan.assignments.iter().enumerate() {
        let callsign = &r.plan.callsigns[u];
        for (i, a) in row.iter().enumerate() {
            let slot = &r.plan.slots[i];
            let (activity, zone, zone_name, from) = describe(r, a);
            let end_local = slot.end_utc.to_zoned(slot.start_local.time_zone().clone());
            // Zone names come from venue names, which anyone can edit in OpenStreetMap: a
            // name a spreadsheet would read as a formula is quoted.
            w.write_record([
                safe(callsign),
                i.to_string(),
                slot.start_local.strftime("%Y-%m-%d %H:%M %Z").to_string(),
                end_local.strftime("%Y-%m-%d %H:%M %Z").to_string(),
                slot.start_utc.to_string(),
                activity.to_string(),
                safe(&zone),
                safe(&zone_name),
                safe(&from),
            ])?;
        }
    }
    Ok(String::from_utf8(
        w.into_inner().map_err(|e| anyhow!("{e}"))?,
    )?)
}
