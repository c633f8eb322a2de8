//! One failure as a self-contained page: what broke, the run's story in words, and a timeline
//! with a column per node, simulated time downwards, messages as arrows and faults shaded.

use crate::report::failure::FailureReport;
use crate::report::html::STYLE;
use crate::report::junit::escape;
use crate::report::swimlane::{self, shorten};
use fleetsim_sim::{Event, EventKind};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Most events drawn on the timeline; the rest are left out and counted.
pub const EVENTS_DRAWN_MAX: usize = 600;
/// Most steps told in the story.
pub const STORY_STEPS_MAX: usize = 400;
/// Events drawn after the first violation, for context.
const EVENTS_AFTER_VIOLATION: usize = 20;

const ROW_PX: usize = 16;
/// Widest and narrowest node column; columns narrow so the diagram fits `DIAGRAM_WIDTH_PX`.
const COLUMN_PX_MAX: usize = 150;
const COLUMN_PX_MIN: usize = 70;
/// Width the diagram keeps to, for a 1,400 px window (wider only past 13 nodes, then in a
/// box of its own that scrolls, never the page).
const DIAGRAM_WIDTH_PX: usize = 1_300;
const GUTTER_PX: usize = 90;
/// Room right of the last column for labels.
const LABELS_PX: usize = 300;
const HEADER_PX: usize = 40;

/// The page of one failure; `events` is the run's whole trace (or as much as is known).
pub fn render_failure_page(report: &FailureReport, events: &[Event], reproduced: bool) -> String {
    let mut html = String::new();
    let invariant = report.violations.first().map(|violation| violation.invariant.as_str()).unwrap_or("none");
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>fleetsim failure: {}</title><style>{STYLE}\
         svg text{{font-size:11px;font-family:ui-monospace,monospace}}</style></head><body>\n",
        escape(invariant)
    );
    header(&mut html, report, reproduced, events);
    story(&mut html, events);
    timeline(&mut html, report, events);
    history(&mut html, &report.history);
    let _ = write!(html, "<p><a href=\"../index.html\">back to the campaign</a></p>\n</body></html>\n");
    html
}

fn header(html: &mut String, report: &FailureReport, reproduced: bool, events: &[Event]) {
    let bugs = if report.bugs.is_empty() {
        "the fixed model (no bug switched on)".to_string()
    } else {
        format!("the bugs <code>{}</code> switched on", escape(&report.bugs.join(", ")))
    };
    let _ = writeln!(
        html,
        "<h1>{} seed {}: <span class=\"bad\">{}</span> violated</h1>",
        escape(&report.scenario),
        escape(&report.seed_hex),
        escape(&report.signature.invariant)
    );
    for violation in &report.violations {
        let _ = writeln!(
            html,
            "<div class=\"violation\"><b>{}</b> ({:?}) at {} ms: {}</div>",
            escape(&violation.invariant),
            violation.class,
            violation.at_ms,
            escape(&violation.message)
        );
    }
    if !reproduced {
        html.push_str("<p class=\"bad\">This page's re-run did not reproduce the report's trace hash; the pictures may not match the report.</p>\n");
    }
    html.push_str(
        "<h2>The run at a glance</h2>\n<p class=\"note\">One lane per node, simulated time left to right, as the trace recorded it: \
         orange bars are the nemesis's fault windows, violet a node paused or cut off, dark red a node down between its crash and restart; \
         ticks are lost (red) or held-back (violet) messages, timeouts (orange), fault points fired (red, lower) and writes lost by a disk (black). \
         The red line is the violation. Hover over a mark for its event.</p>\n",
    );
    html.push_str(&swimlane::render(events, &lanes(events)));
    let _ = writeln!(
        html,
        "<p>fleetsim ran the <code>{}</code> scenario with seed <code>{}</code> and {bugs}. A nemesis injected the faults \
         listed below while a client issued the scenario's workload; an invariant checker caught a broken guarantee. \
         The run is deterministic: the command below replays it event for event (trace hash <code>{}</code>, {} events, {} ms of simulated time).</p>",
        escape(&report.scenario),
        escape(&report.seed_hex),
        escape(&report.trace_hash),
        report.events,
        report.sim_ms
    );
    let _ = writeln!(
        html,
        "<h2>Replay it</h2>\n<pre>{}\n{}</pre>\n<p class=\"note\">The first line replays this report and checks the outcome and trace hash; the second reruns the seed from scratch.</p>",
        escape(&report.replay),
        escape(&report.rerun)
    );
    faults_fired(html, report, events);
}

/// The lanes of the picture: every node of the trace in column order, the nemesis last.
fn lanes(events: &[Event]) -> Vec<String> {
    let mut lanes: Vec<String> = events.iter().map(|event| event.node.clone()).collect();
    lanes.sort_by_key(|node| column_rank(node));
    lanes.dedup();
    lanes
}

/// The fault windows that fired, from the trace; the plan's windows that lay past the end of the
/// run are counted, not listed.
fn faults_fired(html: &mut String, report: &FailureReport, events: &[Event]) {
    let fired: Vec<swimlane::Span> = swimlane::spans(events).into_iter().filter(|span| span.kind == "fault").collect();
    html.push_str("<h2>Faults injected</h2>\n");
    if fired.is_empty() {
        html.push_str("<p>No fault window of the plan started before the run ended.</p>\n");
    } else {
        html.push_str("<table><tr><th>from (ms)</th><th>to (ms)</th><th>fault</th></tr>\n");
        for span in &fired {
            let to = span.to_us.map(|at_us| format!("{}", at_us / 1000)).unwrap_or_else(|| "the end".to_string());
            let _ = writeln!(
                html,
                "<tr><td class=\"number\">{}</td><td class=\"number\">{to}</td><td><code>{}</code></td></tr>",
                span.from_us / 1000,
                escape(&span.label)
            );
        }
        html.push_str("</table>\n");
    }
    let unfired = report.fault_windows.len().saturating_sub(fired.len());
    if unfired > 0 {
        let _ = writeln!(
            html,
            "<p class=\"note\">{unfired} more windows of the plan were due after the run had ended (at {} ms) and never fired.</p>",
            report.sim_ms
        );
    }
    if !report.fault_effects.is_empty() {
        html.push_str("<p>What the faults did: ");
        let effects: Vec<String> =
            report.fault_effects.iter().map(|(effect, count)| format!("{} ({count})", escape(effect))).collect();
        html.push_str(&effects.join("; "));
        html.push_str(".</p>\n");
    }
}

fn told(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::Step
            | EventKind::FaultStart
            | EventKind::FaultStop
            | EventKind::Crash
            | EventKind::Restart
            | EventKind::FaultPoint
            | EventKind::Violation
            | EventKind::Phase
            | EventKind::Workload
            | EventKind::HeldBack
            | EventKind::Storage
    )
}

fn story(html: &mut String, events: &[Event]) {
    html.push_str("<h2>The run, step by step</h2>\n<ol>\n");
    let steps: Vec<&Event> = events.iter().filter(|event| told(event.kind)).collect();
    for event in steps.iter().take(STORY_STEPS_MAX) {
        let _ = writeln!(
            html,
            "<li{}>{}</li>",
            if event.kind == EventKind::Violation { " class=\"bad\"" } else { "" },
            escape(&sentence(event))
        );
    }
    html.push_str("</ol>\n");
    if steps.len() > STORY_STEPS_MAX {
        let _ = writeln!(html, "<p class=\"note\">{} later steps left out.</p>", steps.len() - STORY_STEPS_MAX);
    }
}

/// One event in words.
fn sentence(event: &Event) -> String {
    let at = format!("At {}.{:03} ms", event.at_us / 1000, event.at_us % 1000);
    match event.kind {
        EventKind::Phase => format!("{at} the run entered its {} phase.", event.detail),
        EventKind::Workload => format!("{at} the client asked for {}.", event.detail),
        EventKind::FaultStart if event.node == "nemesis" => format!("{at} the nemesis started fault {}.", event.detail),
        EventKind::FaultStop if event.node == "nemesis" => format!("{at} the nemesis ended fault {}.", event.detail),
        EventKind::FaultStart => format!("{at} {} was hit by a fault: {}.", event.node, event.detail),
        EventKind::FaultStop => format!("{at} {} recovered from a fault: {}.", event.node, event.detail),
        EventKind::Crash => format!("{at} {} crashed: {}.", event.node, event.detail),
        EventKind::Restart => format!("{at} {} restarted: {}.", event.node, event.detail),
        EventKind::FaultPoint => format!("{at} a fault point fired on {}: {}.", event.node, event.detail),
        EventKind::Violation => format!("{at} an invariant was violated: {}.", event.detail),
        EventKind::HeldBack => format!("{at} the network held a message from {} back: {}.", event.node, event.detail),
        EventKind::Storage => format!("{at} the disk of {} lost data at a crash: {}.", event.node, event.detail),
        _ => format!("{at} {}: {}.", event.node, event.detail),
    }
}

/// The events drawn, in order: every story step up to shortly after the first violation (at most
/// half of `EVENTS_DRAWN_MAX`, the latest), then the latest message events before it in the rest.
fn drawn(events: &[Event]) -> Vec<&Event> {
    let violation = events.iter().position(|event| event.kind == EventKind::Violation);
    let end =
        violation.map(|position| (position + 1 + EVENTS_AFTER_VIOLATION).min(events.len())).unwrap_or(events.len());
    let window = &events[..end];
    let steps: Vec<&Event> = window.iter().filter(|event| told(event.kind)).collect();
    let steps = &steps[steps.len().saturating_sub(EVENTS_DRAWN_MAX / 2)..];
    let budget = EVENTS_DRAWN_MAX - steps.len();
    let messages: Vec<&Event> = window.iter().filter(|event| !told(event.kind)).collect();
    let mut chosen: Vec<&Event> = steps.to_vec();
    chosen.extend_from_slice(&messages[messages.len().saturating_sub(budget)..]);
    chosen.sort_by_key(|event| event.index);
    chosen
}

/// Column order: store, workers, agents, client, nemesis, then the rest, by name within each.
fn column_rank(node: &str) -> (u8, String) {
    let rank = match node {
        "store" => 0,
        _ if node.starts_with("store") => 0,
        _ if node.starts_with("worker") => 1,
        _ if node.starts_with("agent") => 2,
        _ if node.starts_with("client") => 3,
        "nemesis" => 4,
        _ => 5,
    };
    (rank, node.to_string())
}

/// The message key of a send or deliver detail: `call #N` or `reply #N`.
fn message_key(detail: &str) -> Option<String> {
    let words: Vec<&str> = detail.split_whitespace().collect();
    words
        .windows(2)
        .find(|pair| (pair[0] == "call" || pair[0] == "reply") && pair[1].starts_with('#'))
        .map(|pair| pair.join(" "))
}

fn timeline(html: &mut String, report: &FailureReport, events: &[Event]) {
    let shown = drawn(events);
    html.push_str(
        "<h2>Message by message</h2>\n<p class=\"note\">One column per node; simulated time runs downwards, one row per event. \
        Arrows are messages (sender to receiver), red crosses dropped messages, shaded bands fault windows \
        (a column for a fault on one node, the whole width for a network-wide one), the red line the first violation. \
        Hover over a mark for the event's text.</p>\n",
    );
    if shown.len() < events.len() {
        let _ = writeln!(
            html,
            "<p class=\"note\">Drawn: {} of {} events, namely every step of the story and the last messages before the violation; \
             {} left out (at most {EVENTS_DRAWN_MAX} are drawn). <code>replay FILE --trace</code> prints them all.</p>",
            shown.len(),
            events.len(),
            events.len() - shown.len()
        );
    }
    let mut nodes: Vec<String> =
        shown.iter().flat_map(|event| std::iter::once(event.node.clone()).chain(event.peer.clone())).collect();
    nodes.sort_by_key(|node| column_rank(node));
    nodes.dedup();
    let column: BTreeMap<&str, usize> = nodes.iter().enumerate().map(|(index, node)| (node.as_str(), index)).collect();
    let column_px =
        ((DIAGRAM_WIDTH_PX - GUTTER_PX - LABELS_PX) / nodes.len().max(1)).clamp(COLUMN_PX_MIN, COLUMN_PX_MAX);
    let x = |node: &str| GUTTER_PX + column.get(node).copied().unwrap_or(0) * column_px + column_px / 2;
    let y = |row: usize| HEADER_PX + row * ROW_PX + ROW_PX / 2;
    let width = GUTTER_PX + nodes.len().max(1) * column_px + LABELS_PX;
    // The diagram scrolls in a box of its own, its node names held at the top of the box.
    let _ = writeln!(
        html,
        "<div id=\"message-diagram\" style=\"overflow:auto;max-height:85vh;border:1px solid #ddd\">\
         <div class=\"diagram-names\" style=\"position:sticky;top:0;z-index:1;background:#fff;width:{width}px\">\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{HEADER_PX}\" role=\"img\" aria-label=\"nodes\">"
    );
    for node in &nodes {
        let _ = writeln!(
            html,
            "<text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>",
            x(node),
            escape(node)
        );
    }
    html.push_str("</svg></div>");
    let height = HEADER_PX + shown.len().max(1) * ROW_PX + 10;
    let _ = writeln!(html, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" style=\"margin-top:-{HEADER_PX}px\" role=\"img\" aria-label=\"timeline\">\n<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#3366cc\"/></marker></defs>");
    shade_faults(html, report, &shown, &column, (width, column_px));
    for node in &nodes {
        let _ = writeln!(html, "<line x1=\"{0}\" y1=\"28\" x2=\"{0}\" y2=\"{height}\" stroke=\"#bbb\"/>", x(node));
    }
    let mut sent: BTreeMap<(String, String), (usize, String)> = BTreeMap::new();
    for (row, event) in shown.iter().enumerate() {
        draw_event(html, event, row, &mut sent, &x, &y);
    }
    html.push_str("</svg></div>\n");
}

fn shade_faults(
    html: &mut String,
    report: &FailureReport,
    shown: &[&Event],
    column: &BTreeMap<&str, usize>,
    (width, column_px): (usize, usize),
) {
    for window in &report.fault_windows {
        let (start_us, end_us) = (window.start_ms * 1000, (window.start_ms + window.duration_ms) * 1000);
        let rows: Vec<usize> = (0..shown.len()).filter(|row| (start_us..end_us).contains(&shown[*row].at_us)).collect();
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else { continue };
        let top = HEADER_PX + first * ROW_PX;
        let height = (last - first + 1) * ROW_PX;
        let label = escape(&window.fault.to_string());
        let nodes = window.fault.nodes();
        if nodes.is_empty() {
            let _ = writeln!(html, "<rect x=\"{GUTTER_PX}\" y=\"{top}\" width=\"{}\" height=\"{height}\" fill=\"#f4a261\" fill-opacity=\"0.12\"><title>{label}</title></rect>", width - GUTTER_PX);
        }
        for node in nodes {
            let Some(index) = column.get(node) else { continue };
            let _ = writeln!(html, "<rect x=\"{}\" y=\"{top}\" width=\"{column_px}\" height=\"{height}\" fill=\"#e76f51\" fill-opacity=\"0.18\"><title>{label}</title></rect>", GUTTER_PX + index * column_px);
        }
    }
}

fn draw_event(
    html: &mut String,
    event: &Event,
    row: usize,
    sent: &mut BTreeMap<(String, String), (usize, String)>,
    x: &impl Fn(&str) -> usize,
    y: &impl Fn(usize) -> usize,
) {
    let (here, level) = (x(&event.node), y(row));
    let title = escape(&event.to_string());
    if row.is_multiple_of(10) || told(event.kind) {
        let _ = writeln!(
            html,
            "<text x=\"4\" y=\"{}\" fill=\"#666\">{}.{:03}ms</text>",
            level + 4,
            event.at_us / 1000,
            event.at_us % 1000
        );
    }
    match event.kind {
        EventKind::Send => {
            if let Some(key) = message_key(&event.detail) {
                let text = event.detail.split_once(": ").map(|(_, text)| text).unwrap_or_default();
                sent.insert((event.node.clone(), key), (row, message_label(text)));
            }
            let _ = writeln!(
                html,
                "<circle cx=\"{here}\" cy=\"{level}\" r=\"2\" fill=\"#3366cc\"><title>{title}</title></circle>"
            );
        }
        EventKind::Deliver => {
            let peer = event.peer.clone().unwrap_or_default();
            let Some((from_row, label)) =
                message_key(&event.detail).and_then(|key| sent.get(&(peer.clone(), key)).cloned())
            else {
                // The send is not drawn: a short dashed arrow from the peer's side.
                let from = if x(&peer) < here { here - 30 } else { here + 30 };
                let _ = writeln!(html, "<line x1=\"{from}\" y1=\"{level}\" x2=\"{here}\" y2=\"{level}\" stroke=\"#3366cc\" stroke-dasharray=\"3,2\" marker-end=\"url(#arrow)\"><title>{title}</title></line>");
                return;
            };
            let from = x(&peer);
            let _ = writeln!(html, "<line x1=\"{from}\" y1=\"{}\" x2=\"{here}\" y2=\"{level}\" stroke=\"#3366cc\" stroke-width=\"1\" marker-end=\"url(#arrow)\"><title>{title}</title></line>", y(from_row));
            let (middle, up) = ((from + here) / 2, (y(from_row) + level) / 2);
            let _ = writeln!(
                html,
                "<text x=\"{middle}\" y=\"{}\" text-anchor=\"middle\" fill=\"#1d3f8f\" font-size=\"10\">{}</text>",
                up.saturating_sub(2),
                escape(&shorten(&label, 24))
            );
        }
        EventKind::Drop => {
            let _ = writeln!(
                html,
                "<text x=\"{}\" y=\"{}\" fill=\"#b00020\" font-weight=\"bold\">×<title>{title}</title></text>",
                here - 4,
                level + 4
            );
        }
        EventKind::Violation => {
            let _ = writeln!(html, "<line x1=\"{GUTTER_PX}\" y1=\"{level}\" x2=\"{}\" y2=\"{level}\" stroke=\"#b00020\" stroke-width=\"2\"/><text x=\"{}\" y=\"{}\" fill=\"#b00020\" font-weight=\"bold\">{}<title>{title}</title></text>", here + 400, here + 6, level - 3, escape(&shorten(&event.detail, 90)));
        }
        _ => {
            let color = match event.kind {
                EventKind::Crash | EventKind::FaultPoint | EventKind::Timeout => "#b00020",
                EventKind::FaultStart | EventKind::FaultStop => "#e76f51",
                EventKind::Restart => "#1b7f3b",
                _ => "#222",
            };
            let label = if told(event.kind) {
                escape(&shorten(&format!("{} {}", event.kind.name(), event.detail), 40))
            } else {
                String::new()
            };
            let _ = writeln!(html, "<circle cx=\"{here}\" cy=\"{level}\" r=\"3.5\" fill=\"{color}\"><title>{title}</title></circle><text x=\"{}\" y=\"{}\" fill=\"{color}\">{label}</text>", here + 6, level + 4);
        }
    }
}

/// A message's name for its arrow, from its `Debug` text: wrappers of one variant are peeled
/// (`Store(Claimed(..))` is `Claimed`), a struct is named by its last field that holds a variant
/// (`StoreRequest { claim: .., transaction: InsertVm(..) }` is `InsertVm`).
pub fn message_label(text: &str) -> String {
    let mut text = text.trim();
    for _ in 0..8 {
        let name_end =
            text.find(|character: char| !character.is_alphanumeric() && character != '_').unwrap_or(text.len());
        let (name, rest) = text.split_at(name_end);
        let rest = rest.trim_start();
        let inner = if let Some(inner) = rest.strip_prefix('(') {
            inner
        } else if let Some(body) = rest.strip_prefix('{') {
            match last_field_value(body) {
                Some(last) if holds_variant(last) => {
                    text = last;
                    continue;
                }
                _ => return name.to_string(),
            }
        } else {
            return name.to_string();
        };
        let peel = inner.starts_with(char::is_uppercase)
            && !["Some", "None", "Ok", "Err"].iter().any(|keyword| inner.starts_with(keyword))
            && !is_argument(inner);
        if !peel {
            return name.to_string();
        }
        text = inner;
    }
    text.chars().take_while(|character| character.is_alphanumeric()).collect()
}

/// Whether a variant's payload `inner` is its argument rather than a wrapped message: a struct
/// (`HostInventory { .. }`) or a newtype of a plain value (`VmId(9)`).
fn is_argument(inner: &str) -> bool {
    let name_end =
        inner.find(|character: char| !character.is_alphanumeric() && character != '_').unwrap_or(inner.len());
    let rest = inner[name_end..].trim_start();
    if let Some(body) = rest.strip_prefix('{') {
        return !last_field_value(body).is_some_and(holds_variant);
    }
    let Some(content) = rest.strip_prefix('(') else { return false };
    let content = content.split(')').next().unwrap_or_default();
    !content.contains(['(', '{'])
}

/// Whether a field's value is a variant worth naming a message by (not a plain value or `None`).
fn holds_variant(value: &str) -> bool {
    value.starts_with(char::is_uppercase) && !value.starts_with("None")
}

/// The value of the last field of a struct's `Debug` body (`a: 1, b: X(2) }` gives `X(2) }`).
fn last_field_value(body: &str) -> Option<&str> {
    let mut depth = 0_i32;
    let mut last = None;
    for (position, character) in body.char_indices() {
        match character {
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth -= 1,
            ':' if depth == 0 => last = Some(body[position + 1..].trim_start()),
            _ => {}
        }
    }
    last
}

/// The run's history as Jepsen shows one: each operation invoked, then ok, fail or info.
fn history(html: &mut String, history: &[fleetsim_sim::HistoryEntry]) {
    html.push_str("<h2>History</h2>\n");
    if history.is_empty() {
        html.push_str("<p>The system recorded no operations.</p>\n");
        return;
    }
    html.push_str(
        "<p>Every operation the system was asked to do and how it ended: <code>ok</code> it happened, \
         <code>fail</code> it did not, <code>info</code> its outcome is unknown.</p>\n\
         <table><tr><th>ms</th><th>operation</th><th>process</th><th>type</th><th>what</th></tr>\n",
    );
    for entry in history {
        let class = match entry.kind {
            fleetsim_sim::HistoryType::Fail | fleetsim_sim::HistoryType::Info => " class=\"bad\"",
            _ => "",
        };
        let _ = writeln!(
            html,
            "<tr><td class=\"number\">{}</td><td class=\"number\">{}</td><td>{}</td><td{class}>{}</td><td><code>{}</code></td></tr>",
            entry.at_ms,
            entry.operation.0,
            escape(&entry.process),
            format!("{:?}", entry.kind).to_lowercase(),
            escape(&entry.detail)
        );
    }
    html.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::message_label;

    #[test]
    fn an_arrow_is_named_by_the_innermost_variant_of_its_message() {
        let call = "Store(StoreRequest { claim: Some(Claim { job: JobId(1), attempt: 2, fence: 2 }), transaction: AllocateIp(VmId(9)) })";
        assert_eq!(message_label(call), "AllocateIp");
        assert_eq!(
            message_label("Store(StoreRequest { claim: None, transaction: ClaimJob { lease_ms: 2000 } })"),
            "ClaimJob"
        );
        assert_eq!(message_label("Store(Claimed(Some(JobRow { job: JobId(1) })))"), "Claimed");
        assert_eq!(message_label("Host(Done)"), "Done");
        assert_eq!(message_label("Host(Inventory)"), "Inventory");
        assert_eq!(message_label("Host(Inventory(HostInventory { vms: [], snapshots: [] }))"), "Inventory");
        assert_eq!(message_label("Store(Ip(Ip(101)))"), "Ip");
        assert_eq!(message_label("Deposit { amount: 5 }"), "Deposit");
    }
}
