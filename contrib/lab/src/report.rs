//! `report`: gathers every node's first-seen records (`listblockpropagation`), the lab's
//! record of who mined what and of link changes, and each node's chain tips, and writes
//! `report.json` and `report.html` (plots as inline SVG written here: no plotting crate,
//! no fonts, the browser draws the text).
//!
//! Per block (SimBlock's per-block view): its miner, whether it went stale, and for each
//! node the delay from its finding (the miner's `connected_ms`) to the node receiving
//! its header, its block, and validating it. Per link: the delay of headers that crossed
//! it first (header arrival at one end minus the moment the other end had the block:
//! received, stored or connected, whichever came first), beside the latency the link had then. Summary: p50/p90/max propagation,
//! stale rate, reorg depths, each miner's share against its hash share, and the
//! theoretical stale rate 1 − e^(−τ/T) from the measured τ (hash-share-weighted mean
//! delay until the other miners had the block) beside the measured one.
//!
//! With a selfish node, a `selfish` section ([`crate::selfish::section`]): its share of
//! main-chain blocks beside Eyal–Sirer's revenue for the measured α and γ. Its blocks
//! are left out of τ and the propagation figures: their delay is mostly withholding.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use crate::daemon::{self, LinkChange, Mined, NodeInfo};
use crate::topology::{LinkParams, Topology};

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * (sorted.len() - 1) as f64).round() as usize;
    sorted.get(rank.min(sorted.len() - 1)).copied()
}

fn ms(v: &Value, k: &str) -> Option<f64> {
    v.get(k).and_then(Value::as_f64)
}

/// Everything the report is computed from.
#[derive(Debug)]
pub struct Inputs {
    /// The topology.
    pub topo: Topology,
    /// The nodes.
    pub nodes: Vec<NodeInfo>,
    /// Per link: proxy listen address and upstream local addresses.
    pub proxies: Vec<(String, Vec<String>)>,
    /// What was mined.
    pub mined: Vec<Mined>,
    /// Link changes (the initial settings first).
    pub changes: Vec<LinkChange>,
    /// Per node: hash → record.
    pub records: Vec<HashMap<String, Value>>,
    /// Per node: its chain tips.
    pub tips: Vec<Vec<Value>>,
    /// Mined hash → (height, whether it is in the first honest node's active chain).
    pub status: HashMap<String, (i64, bool)>,
    /// The selfish strategy's record (`selfish.jsonl`), empty without one.
    pub selfish_events: Vec<Value>,
}

/// Gathers the inputs from the running lab in `dir` and writes the report to `out`.
pub async fn make(dir: &Path, out: &Path) -> Result<Value, String> {
    let t = daemon::request(dir, json!({"cmd": "topology"})).await?;
    let topo: Topology =
        serde_json::from_value(t["topology"].clone()).map_err(|e| e.to_string())?;
    let nodes: Vec<NodeInfo> =
        serde_json::from_value(t["nodes"].clone()).map_err(|e| e.to_string())?;
    if nodes.len() != topo.nodes.len() {
        return Err("the lab is paused: no report now".into());
    }
    let proxies = t["proxies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["listen"].as_str().unwrap_or_default().to_owned(),
                p["upstream"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|u| u.as_str().map(str::to_owned))
                    .collect(),
            )
        })
        .collect();
    let mined: Vec<Mined> =
        serde_json::from_value(daemon::request(dir, json!({"cmd": "mined"})).await?)
            .map_err(|e| e.to_string())?;
    let changes: Vec<LinkChange> =
        serde_json::from_value(daemon::request(dir, json!({"cmd": "changes"})).await?)
            .map_err(|e| e.to_string())?;
    let mut records = Vec::new();
    let mut tips = Vec::new();
    for n in &nodes {
        let rpc = daemon::node_client(n)?;
        let recs = daemon::records(&rpc).await?;
        records.push(
            recs.into_iter()
                .filter_map(|r| Some((r["hash"].as_str()?.to_owned(), r)))
                .collect(),
        );
        let t = rpc
            .call("getchaintips", json!([]))
            .await
            .map_err(|e| e.to_string())?;
        tips.push(t.as_array().cloned().unwrap_or_default());
    }
    // The main chain as the honest network has it: a selfish node's own view may hold
    // blocks nobody else has.
    let judge = topo
        .nodes
        .iter()
        .position(|n| n.strategy != crate::topology::Strategy::Selfish)
        .unwrap_or(0);
    let rpc = daemon::node_client(&nodes[judge])?;
    let mut status = HashMap::new();
    for m in &mined {
        let (height, active) = match rpc.call("getblockheader", json!([m.hash, true])).await {
            Ok(h) => (
                h["height"].as_i64().unwrap_or(-1),
                h["confirmations"].as_i64().unwrap_or(-1) >= 0,
            ),
            Err(_) => (-1, false),
        };
        status.insert(m.hash.clone(), (height, active));
    }
    let inputs = Inputs {
        topo,
        nodes,
        proxies,
        mined,
        changes,
        records,
        tips,
        status,
        selfish_events: crate::selfish::read_events(dir),
    };
    let report = compute(&inputs);
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    std::fs::write(
        out.join("report.json"),
        serde_json::to_string_pretty(&report).unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(out.join("report.html"), html(&report)).map_err(|e| e.to_string())?;
    Ok(json!({
        "json": out.join("report.json"),
        "html": out.join("report.html"),
        "summary": report["summary"],
    }))
}

/// The link settings in force at `at` (Unix ms).
fn params_at(changes: &[LinkChange], link: usize, at: u64, initial: LinkParams) -> LinkParams {
    changes
        .iter()
        .filter(|c| c.link == link && c.ms <= at)
        .max_by_key(|c| c.ms)
        .map_or(initial, |c| c.params)
}

/// The report from its inputs.
pub fn compute(inp: &Inputs) -> Value {
    let n = inp.nodes.len();
    let names: Vec<&str> = inp.nodes.iter().map(|x| x.name.as_str()).collect();
    // Peer address as a node records it → (link, sending node).
    let mut via: HashMap<(usize, String), (usize, usize)> = HashMap::new();
    for (l, link) in inp.topo.links.iter().enumerate() {
        if let Some((listen, ups)) = inp.proxies.get(l) {
            via.insert((link.a, listen.clone()), (l, link.b));
            for u in ups {
                via.insert((link.b, u.clone()), (l, link.a));
            }
        }
    }
    let interval = inp
        .topo
        .block_interval
        .map_or(0.0, |d| d.as_secs_f64() * 1e3);
    let mut blocks = Vec::new();
    let mut pooled = Vec::new();
    let mut taus = Vec::new();
    let mut exposures = Vec::new();
    let mut link_samples: BTreeMap<usize, Vec<Value>> = BTreeMap::new();
    let mut won: Vec<u64> = vec![0; n];
    let mut seen = HashSet::new();
    let mut stale = 0u64;
    let mut found_times = Vec::new();
    for m in &inp.mined {
        if m.node >= n || !seen.insert(m.hash.clone()) {
            continue;
        }
        let own = inp.records[m.node].get(&m.hash);
        let found = own
            .and_then(|r| ms(r, "connected_ms").or_else(|| ms(r, "stored_ms")))
            .unwrap_or(m.ms as f64);
        found_times.push(found);
        let (height, active) = inp.status.get(&m.hash).copied().unwrap_or((-1, false));
        if active {
            won[m.node] += 1;
        } else {
            stale += 1;
        }
        let mut delays = serde_json::Map::new();
        let mut weighted = 0.0;
        let mut weight = 0.0;
        let withheld = inp.topo.nodes.get(m.node).map(|x| x.strategy)
            == Some(crate::topology::Strategy::Selfish);
        for j in 0..n {
            if j == m.node {
                continue;
            }
            let Some(r) = inp.records[j].get(&m.hash) else {
                delays.insert(names[j].to_owned(), Value::Null);
                continue;
            };
            let d = |k: &str| ms(r, k).map(|t| t - found);
            let validated = d("connected_ms").or_else(|| d("stored_ms"));
            delays.insert(
                names[j].to_owned(),
                json!({"header": d("header_ms"), "block": d("block_ms"), "validated": validated,
                       "from": r["header_from"]["addr"].as_str().or(r["block_from"]["addr"].as_str())}),
            );
            if active && !withheld {
                if let Some(v) = validated {
                    pooled.push(v);
                }
                // τ is how long the block stayed unknown to this miner: until it had the
                // block (received, stored or connected, whichever first). Not until it
                // connected it: a node that first took the block's rival in a race
                // connects this one only when the next block breaks the tie, seconds
                // later, though it knew of it all along (its own fork already happened).
                let had = ["block_ms", "stored_ms", "connected_ms"]
                    .iter()
                    .filter_map(|k| d(k))
                    .reduce(f64::min);
                if let Some(h) = had {
                    weighted += inp.nodes[j].hashshare * h;
                    weight += inp.nodes[j].hashshare;
                }
            }
            // The link the header came over, and when its sender announced the block:
            // the last of its arrival, storing and connecting before the header got
            // here. A peer announces by `headers` once the block is connected, but a
            // high-bandwidth compact-block peer passes it on as soon as it is rebuilt,
            // before validating it; a block that arrives off the tip is announced
            // only when a reorganisation connects it.
            if let (Some(h), Some(addr)) = (ms(r, "header_ms"), r["header_from"]["addr"].as_str()) {
                if let Some(&(l, sender)) = via.get(&(j, addr.to_owned())) {
                    if let Some(sent) = inp.records[sender].get(&m.hash).and_then(|s| {
                        ["block_ms", "stored_ms", "connected_ms"]
                            .iter()
                            .filter_map(|k| ms(s, k))
                            .filter(|t| *t <= h)
                            .reduce(f64::max)
                    }) {
                        let p = params_at(&inp.changes, l, found as u64, inp.topo.links[l].params);
                        link_samples.entry(l).or_default().push(json!({
                            "block": m.hash, "from": names[sender], "to": names[j],
                            "at_ms": found as u64, "delay_ms": h - sent,
                            "configured_ms": p.latency.as_secs_f64() * 1e3,
                        }));
                    }
                }
            }
        }
        if active && !withheld && weight > 0.0 {
            taus.push(weighted / weight);
            // The other miners find blocks at Σ s_j / T and learn of this one after
            // their own delays: Σ s_j·τ_j is the block's exposure to a competitor.
            exposures.push(weighted);
        }
        blocks.push(json!({
            "hash": m.hash, "height": height, "miner": names[m.node], "found_ms": found as u64,
            "stale": !active, "delays_ms": delays,
        }));
    }
    pooled.sort_by(f64::total_cmp);
    let mined = seen.len() as f64;
    let stale_rate = if mined > 0.0 {
        stale as f64 / mined
    } else {
        0.0
    };
    let tau = if taus.is_empty() {
        None
    } else {
        Some(taus.iter().sum::<f64>() / taus.len() as f64)
    };
    found_times.sort_by(f64::total_cmp);
    let measured_interval = match (found_times.first(), found_times.last()) {
        (Some(a), Some(b)) if found_times.len() > 1 => {
            Some((b - a) / (found_times.len() - 1) as f64)
        }
        _ => None,
    };
    let theory = |t: f64| tau.map(|tau| 1.0 - (-tau / t).exp());
    // The same model block by block, averaged: P(another miner finds a block before it
    // hears of this one) = 1 − e^(−Σ s_j·τ_j / T). Averaging the probabilities rather
    // than the delays keeps a few slow blocks from standing for all of them (1 − e^(−x)
    // is concave, so the mean delay overstates the mean probability).
    let per_block = |t: f64| {
        (!exposures.is_empty()).then(|| {
            exposures.iter().map(|x| 1.0 - (-x / t).exp()).sum::<f64>() / exposures.len() as f64
        })
    };
    let total_won: u64 = won.iter().sum();
    let miners: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "node": names[i], "hashshare": inp.nodes[i].hashshare, "blocks": won[i],
                "share": if total_won > 0 { won[i] as f64 / total_won as f64 } else { 0.0 },
            })
        })
        .collect();
    let mut reorgs: BTreeMap<u64, u64> = BTreeMap::new();
    let mut seen_tips = HashSet::new();
    for t in inp.tips.iter().flatten() {
        if t["status"].as_str() == Some("active") {
            continue;
        }
        if let (Some(h), Some(len)) = (t["hash"].as_str(), t["branchlen"].as_u64()) {
            if seen_tips.insert(h.to_owned()) {
                *reorgs.entry(len).or_default() += 1;
            }
        }
    }
    let links: Vec<Value> = inp
        .topo
        .links
        .iter()
        .enumerate()
        .map(|(l, link)| {
            let samples = link_samples.remove(&l).unwrap_or_default();
            // Median per configured latency, so a change shows as two rows.
            let mut by_conf: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
            for s in &samples {
                by_conf
                    .entry(s["configured_ms"].as_f64().unwrap_or(0.0).round() as u64)
                    .or_default()
                    .push(s["delay_ms"].as_f64().unwrap_or(0.0));
            }
            let periods: Vec<Value> = by_conf
                .into_iter()
                .map(|(c, mut v)| {
                    v.sort_by(f64::total_cmp);
                    json!({"configured_ms": c, "samples": v.len(), "median_ms": percentile(&v, 0.5)})
                })
                .collect();
            json!({"a": names[link.a], "b": names[link.b], "periods": periods, "samples": samples})
        })
        .collect();
    let t_ms = if interval > 0.0 {
        interval
    } else {
        measured_interval.unwrap_or(0.0)
    };
    let mut report = json!({
        "summary": {
            "nodes": n,
            "links": inp.topo.links.len(),
            "blocks_mined": mined as u64,
            "stale_blocks": stale,
            "stale_rate": stale_rate,
            "block_interval_ms": interval,
            "measured_interval_ms": measured_interval,
            "tau_ms": tau,
            "theoretical_stale_rate": if t_ms > 0.0 { theory(t_ms) } else { None },
            "theoretical_stale_rate_measured_interval": measured_interval.and_then(theory),
            "theoretical_stale_rate_per_block": if t_ms > 0.0 { per_block(t_ms) } else { None },
            "theoretical_stale_rate_per_block_measured_interval": measured_interval.and_then(per_block),
            "propagation_ms": {
                "p50": percentile(&pooled, 0.5),
                "p90": percentile(&pooled, 0.9),
                "max": pooled.last(),
                "samples": pooled.len(),
            },
            "reorg_depths": reorgs.iter().map(|(d, c)| json!({"depth": d, "count": c})).collect::<Vec<_>>(),
        },
        "miners": miners,
        "links": links,
        "blocks": blocks,
    });
    if let Some(s) = crate::selfish::section(inp, &inp.selfish_events) {
        report["selfish"] = s;
    }
    report
}

/// The selfish miner's table: what it earned against what Eyal and Sirer predict.
fn selfish_table(x: &Value) -> String {
    let mut s = format!(
        "<h3>Selfish mining ({})</h3><table>",
        esc(x["node"].as_str().unwrap_or_default())
    );
    let f = |v: &Value| v.as_f64().map_or("—".to_owned(), |v| format!("{v:.4}"));
    let rows = [
        ("α configured (hash share)", f(&x["alpha_configured"])),
        (
            "α measured (selfish finds / all finds)",
            format!(
                "{} ({} / {})",
                f(&x["alpha_measured"]),
                x["selfish_finds"],
                x["finds"]
            ),
        ),
        (
            "ties; resolved by an honest block on the selfish / honest branch; by the selfish miner",
            format!(
                "{}; {} / {}; {}",
                x["ties"],
                x["ties_resolved_on_selfish_branch"],
                x["ties_resolved_on_honest_branch"],
                x["ties_resolved_by_selfish"]
            ),
        ),
        ("γ measured", f(&x["gamma_measured"])),
        (
            "revenue: selfish share of main-chain blocks",
            format!(
                "{} ({} / {})",
                f(&x["revenue_share"]),
                x["selfish_main_chain_blocks"],
                x["main_chain_blocks"]
            ),
        ),
        (
            "Eyal–Sirer R(α measured, γ measured)",
            f(&x["expected_revenue_alpha_measured"]),
        ),
        (
            "Eyal–Sirer R(α configured, γ measured)",
            f(&x["expected_revenue_alpha_configured"]),
        ),
        ("honest expectation (α)", f(&x["honest_expectation"])),
        (
            "Eyal–Sirer's accounting replayed on this run's finds and tie outcomes",
            f(&x["replayed_revenue"]),
        ),
        (
            "honest blocks orphaned by the selfish chain; honest-vs-honest forks (rate)",
            format!(
                "{}; {} ({})",
                x["honest_orphaned_by_selfish"],
                x["honest_forks"],
                f(&x["honest_stale_rate"])
            ),
        ),
    ];
    for (k, v) in rows {
        let _ = write!(s, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    s.push_str("</table><p>R(α, γ) = [α(1−α)²(4α+γ(1−2α)) − α³] / [1 − α(1+(2−α)α)] (Eyal and Sirer 2014); γ is the share of ties an honest block resolved on the selfish branch.</p>");
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A bar chart: groups of (label, [(series, value)]), as SVG.
fn bars(title: &str, groups: &[(String, Vec<f64>)], series: &[&str], unit: &str) -> String {
    let colours = ["#4e79a7", "#f28e2b", "#59a14f"];
    let max = groups
        .iter()
        .flat_map(|g| g.1.iter().copied())
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let bw = 14.0;
    let gw = bw * series.len() as f64 + 10.0;
    let w = 60.0 + gw * groups.len() as f64;
    let h = 220.0;
    let mut s = format!(
        "<h3>{}</h3><svg width=\"{w}\" height=\"{}\" font-size=\"10\" xmlns=\"http://www.w3.org/2000/svg\">",
        esc(title),
        h + 60.0
    );
    let _ = write!(
        s,
        "<text x=\"0\" y=\"12\">{} {}</text>",
        fmt(max),
        esc(unit)
    );
    for (gi, (label, vals)) in groups.iter().enumerate() {
        let x0 = 50.0 + gi as f64 * gw;
        for (si, v) in vals.iter().enumerate() {
            let bh = v / max * h;
            let _ = write!(
                s,
                "<rect x=\"{}\" y=\"{}\" width=\"{bw}\" height=\"{bh}\" fill=\"{}\"><title>{}: {}</title></rect>",
                x0 + si as f64 * bw,
                20.0 + h - bh,
                colours[si % colours.len()],
                esc(series[si]),
                fmt(*v)
            );
        }
        let _ = write!(
            s,
            "<text transform=\"translate({},{}) rotate(60)\">{}</text>",
            x0,
            h + 26.0,
            esc(label)
        );
    }
    s.push_str("</svg><p>");
    for (i, name) in series.iter().enumerate() {
        let _ = write!(
            s,
            "<span style=\"color:{}\">■ {}</span> ",
            colours[i % colours.len()],
            esc(name)
        );
    }
    s.push_str("</p>");
    s
}

fn fmt(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// A scatter of (x, y) points as SVG.
fn scatter(title: &str, points: &[(f64, f64)], xlabel: &str, ylabel: &str) -> String {
    let (w, h) = (720.0, 260.0);
    let xmax = points.iter().map(|p| p.0).fold(1.0_f64, f64::max);
    let ymax = points.iter().map(|p| p.1).fold(1.0_f64, f64::max);
    let mut s = format!(
        "<h3>{}</h3><svg width=\"{}\" height=\"{}\" font-size=\"10\" xmlns=\"http://www.w3.org/2000/svg\">\
         <text x=\"0\" y=\"12\">{} {}</text><text x=\"{}\" y=\"{}\">{} (max {})</text>\
         <line x1=\"50\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#888\"/><line x1=\"50\" y1=\"20\" x2=\"50\" y2=\"{}\" stroke=\"#888\"/>",
        esc(title), w + 60.0, h + 50.0, fmt(ymax), esc(ylabel), w - 200.0, h + 45.0, esc(xlabel), fmt(xmax),
        h + 20.0, w + 50.0, h + 20.0, h + 20.0
    );
    for (x, y) in points {
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"#4e79a7\" fill-opacity=\"0.6\"/>",
            50.0 + x / xmax * w,
            20.0 + h - y / ymax * h
        );
    }
    s.push_str("</svg>");
    s
}

/// The HTML page of a report.
pub fn html(r: &Value) -> String {
    let sum = &r["summary"];
    let mut s = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>dotcoin lab report</title>\
         <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}</style></head><body>\
         <h1>dotcoin network lab: propagation report</h1><table>",
    );
    let row = |s: &mut String, k: &str, v: &Value| {
        let _ = write!(
            s,
            "<tr><th>{}</th><td>{}</td></tr>",
            esc(k),
            esc(&v.to_string())
        );
    };
    for k in [
        "nodes",
        "links",
        "blocks_mined",
        "stale_blocks",
        "stale_rate",
        "theoretical_stale_rate",
        "theoretical_stale_rate_measured_interval",
        "theoretical_stale_rate_per_block",
        "theoretical_stale_rate_per_block_measured_interval",
        "tau_ms",
        "block_interval_ms",
        "measured_interval_ms",
        "propagation_ms",
        "reorg_depths",
    ] {
        row(&mut s, k, &sum[k]);
    }
    s.push_str("</table><p>Theoretical stale rate: 1 − e<sup>−τ/T</sup>, τ the measured hash-share-weighted mean delay from a block's finding to its validation at the other nodes, T the block interval.</p>");
    if r["selfish"].is_object() {
        s.push_str(&selfish_table(&r["selfish"]));
    }
    let mut points = Vec::new();
    for (i, b) in r["blocks"].as_array().into_iter().flatten().enumerate() {
        for d in b["delays_ms"]
            .as_object()
            .into_iter()
            .flat_map(|o| o.values())
        {
            if let Some(v) = d["validated"].as_f64() {
                points.push((i as f64, v));
            }
        }
    }
    s.push_str(&scatter(
        "Delay from finding to validation, per block and node",
        &points,
        "block",
        "ms",
    ));
    let miners: Vec<(String, Vec<f64>)> = r["miners"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["node"].as_str().unwrap_or_default().to_owned(),
                vec![
                    m["hashshare"].as_f64().unwrap_or(0.0),
                    m["share"].as_f64().unwrap_or(0.0),
                ],
            )
        })
        .collect();
    s.push_str(&bars(
        "Share of main-chain blocks against hash share",
        &miners,
        &["hash share", "blocks"],
        "share",
    ));
    let mut links = Vec::new();
    for l in r["links"].as_array().into_iter().flatten() {
        for p in l["periods"].as_array().into_iter().flatten() {
            links.push((
                format!(
                    "{}–{} @{}",
                    l["a"].as_str().unwrap_or_default(),
                    l["b"].as_str().unwrap_or_default(),
                    p["configured_ms"]
                ),
                vec![
                    p["configured_ms"].as_f64().unwrap_or(0.0),
                    p["median_ms"].as_f64().unwrap_or(0.0),
                ],
            ));
        }
    }
    s.push_str(&bars(
        "Per link: configured latency and measured header delay (median)",
        &links,
        &["configured", "measured"],
        "ms",
    ));
    s.push_str("<h3>Blocks</h3><table><tr><th>height</th><th>hash</th><th>miner</th><th>stale</th><th>delay to validation at each node (ms)</th></tr>");
    for b in r["blocks"].as_array().into_iter().flatten() {
        let delays: Vec<String> = b["delays_ms"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                format!(
                    "{k}: {}",
                    v["validated"]
                        .as_f64()
                        .map_or("—".into(), |x| format!("{x:.0}"))
                )
            })
            .collect();
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            b["height"],
            esc(&b["hash"]
                .as_str()
                .unwrap_or_default()
                .chars()
                .take(16)
                .collect::<String>()),
            esc(b["miner"].as_str().unwrap_or_default()),
            b["stale"],
            esc(&delays.join(", "))
        );
    }
    s.push_str("</table></body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// Three nodes, equal shares, T = 1 s; two main-chain blocks by n1 (one reaching the
    /// others after 100 ms, one after 900 ms) and a stale one by n2 that nobody else saw.
    fn inputs() -> Inputs {
        let topo = crate::topology::parse(
            "[lab]\nblock_interval = \"1s\"\n[generate]\nkind = \"ring\"\nnodes = 3\n",
        )
        .expect("topology");
        let nodes = (0..3)
            .map(|i| NodeInfo {
                name: format!("n{}", i + 1),
                hashshare: 1.0 / 3.0,
                datadir: PathBuf::new(),
                rpc_port: 0,
                p2p_port: 0,
            })
            .collect();
        let rec = |connected: u64| json!({"connected_ms": connected});
        let mut records = vec![HashMap::new(), HashMap::new(), HashMap::new()];
        for (hash, found, delay) in [("a", 10_000, 100), ("b", 20_000, 900)] {
            records[0].insert(hash.to_owned(), rec(found));
            records[1].insert(hash.to_owned(), rec(found + delay));
            records[2].insert(hash.to_owned(), rec(found + delay));
        }
        records[1].insert("c".into(), json!({"stored_ms": 20_500}));
        // Node 3 had "b" after 300 ms but took a rival first: connected only at 900.
        records[2].insert(
            "b".into(),
            json!({"stored_ms": 20_300, "connected_ms": 20_900}),
        );
        let mined = Mined::list(&[("a", 0), ("b", 0), ("c", 1)]);
        let status = [("a", (1, true)), ("b", (2, true))]
            .iter()
            .map(|(h, s)| ((*h).to_owned(), *s))
            .collect();
        Inputs {
            topo,
            nodes,
            proxies: Vec::new(),
            mined,
            changes: Vec::new(),
            records,
            tips: vec![Vec::new(); 3],
            status,
            selfish_events: Vec::new(),
        }
    }

    #[test]
    fn stale_blocks_include_unrelayed_ones_and_theory_follows_the_exposure_of_each_block() {
        let s = &compute(&inputs())["summary"];
        // "c" never reached node 1: stale all the same.
        assert_eq!(s["stale_blocks"], 1);
        assert!((s["stale_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
        // τ: the mean delay until the other miners had each block, (100 + (900 + 300) / 2)
        // / 2; the propagation figures are to connection (p90 of 100, 100, 900, 900).
        assert!((s["tau_ms"].as_f64().unwrap() - 350.0).abs() < 1e-9, "{s}");
        assert_eq!(s["propagation_ms"]["max"], 900.0);
        let by_tau = 1.0 - (-0.35f64).exp();
        assert!((s["theoretical_stale_rate"].as_f64().unwrap() - by_tau).abs() < 1e-9);
        // Per block: the two others hold 2/3 of the hash rate, so the exposure is 2/3 of
        // the delay, and the probabilities are averaged.
        let per_block = ((1.0 - (-0.1f64 * 2.0 / 3.0).exp()) + (1.0 - (-1.2f64 / 3.0).exp())) / 2.0;
        let got = s["theoretical_stale_rate_per_block"].as_f64().unwrap();
        assert!((got - per_block).abs() < 1e-9, "{got} vs {per_block}");
        assert!(got < by_tau);
    }

    #[test]
    fn a_selfish_miners_blocks_stay_out_of_the_propagation_figures() {
        let mut inp = inputs();
        inp.topo.nodes[0].strategy = crate::topology::Strategy::Selfish;
        let r = compute(&inp);
        // Both main-chain blocks are n1's: withheld, so no τ and no propagation samples,
        // but still blocks found, and the selfish section is there.
        assert_eq!(r["summary"]["blocks_mined"], 3);
        assert!(r["summary"]["tau_ms"].is_null(), "{}", r["summary"]);
        assert_eq!(r["summary"]["propagation_ms"]["samples"], 0);
        assert_eq!(r["selfish"]["selfish_main_chain_blocks"], 2);
        assert!(html(&r).contains("Selfish mining (n1)"));
        assert!(compute(&inputs()).get("selfish").is_none());
    }
}
