//! Trace directives: which events `replay --trace` prints.
//!
//! A comma-separated list of `[-]NODE[:KIND]`. NODE is a node name, or a prefix ending in `*`
//! (`worker*`), or empty for every node; KIND is an event kind (`send`, `step`, `crash`, ...).
//! An event is printed when it matches some directive without `-` (or there is none) and no
//! directive with `-`. Examples: `store` (everything on the store), `:step,:violation`,
//! `worker*:send`, `-:deliver,-:send` (everything but message traffic).

use fleetsim_sim::{Event, EventKind};

/// One directive: a node pattern and an event kind, either optional.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Directive {
    node: Option<String>,
    node_is_prefix: bool,
    kind: Option<EventKind>,
}

impl Directive {
    fn matches(&self, event: &Event) -> bool {
        let node = match &self.node {
            None => true,
            Some(prefix) if self.node_is_prefix => event.node.starts_with(prefix.as_str()),
            Some(name) => &event.node == name,
        };
        node && self.kind.is_none_or(|kind| kind == event.kind)
    }
}

/// A parsed set of trace directives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceFilter {
    include: Vec<Directive>,
    exclude: Vec<Directive>,
}

impl TraceFilter {
    /// Parses directives; an empty text prints every event.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut filter = Self::default();
        for part in text.split(',').map(str::trim).filter(|part| !part.is_empty()) {
            let (excluded, body) = match part.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, part),
            };
            let (node, kind) = body.split_once(':').unwrap_or((body, ""));
            let kind = if kind.is_empty() { None } else { Some(parse_kind(kind)?) };
            let node_is_prefix = node.ends_with('*');
            let node = node.trim_end_matches('*');
            let node = (!node.is_empty()).then(|| node.to_string());
            let directive = Directive { node, node_is_prefix, kind };
            if excluded {
                filter.exclude.push(directive);
            } else {
                filter.include.push(directive);
            }
        }
        Ok(filter)
    }

    /// Whether `event` is printed.
    pub fn shows(&self, event: &Event) -> bool {
        let included = self.include.is_empty() || self.include.iter().any(|directive| directive.matches(event));
        included && !self.exclude.iter().any(|directive| directive.matches(event))
    }
}

fn parse_kind(name: &str) -> Result<EventKind, String> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
        format!(
            "unknown event kind '{name}' in trace directives (known: phase, send, deliver, drop, duplicate, late_reply, timeout, fault_start, fault_stop, crash, restart, fault_point, workload, step, violation)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(node: &str, kind: EventKind) -> Event {
        Event { index: 0, at_us: 0, node: node.to_string(), peer: None, kind, detail: String::new() }
    }

    #[test]
    fn directives_select_by_node_prefix_and_kind_and_exclude() {
        let filter = TraceFilter::parse("store,worker*:send,-:deliver").unwrap();
        assert!(filter.shows(&event("store", EventKind::Step)));
        assert!(!filter.shows(&event("store", EventKind::Deliver)));
        assert!(filter.shows(&event("worker-2", EventKind::Send)));
        assert!(!filter.shows(&event("worker-2", EventKind::Step)));
        assert!(!filter.shows(&event("agent-1", EventKind::Step)));
        let everything = TraceFilter::parse("").unwrap();
        assert!(everything.shows(&event("agent-1", EventKind::Drop)));
        let quiet = TraceFilter::parse("-:send,-:deliver").unwrap();
        assert!(quiet.shows(&event("agent-1", EventKind::Crash)) && !quiet.shows(&event("agent-1", EventKind::Send)));
        assert!(TraceFilter::parse(":sent").unwrap_err().contains("unknown event kind 'sent'"));
    }
}
