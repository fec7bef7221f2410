//! Reading a person's message: is it a request for several agents, and which
//! tasks does it list (numbered or bulleted lines)?

/// Words that mark a request to split work across agents or terminals.
const MULTI_AGENT_MARKERS: &[&str] = &[
    "multi-agent",
    "multi agent",
    "multiagent",
    "multiple agents",
    "several agents",
    "agents",
    "parallel",
    "terminals",
    "split the work",
    "distribute",
    "coordinate",
    "coordination",
    "in parallel",
    "team of",
];

pub const EXPECTED_FORM: &str = "a request for several agents with one task per line, numbered or bulleted, e.g.\n\"Split this across agents:\n1. Add rate limiting to the login endpoint\n2. Export invoices as PDF\n- Fix the cart total rounding\"";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The message asks for work to be spread over agents.
    pub wants_agents: bool,
    pub tasks: Vec<String>,
}

pub fn parse(message: &str) -> Request {
    let lower = message.to_lowercase();
    Request {
        wants_agents: MULTI_AGENT_MARKERS.iter().any(|m| lower.contains(m)),
        tasks: task_lines(message),
    }
}

/// `1. x`, `2) x`, `- x`, `* x`, `• x`, `- [ ] x`, each trimmed.
pub fn task_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = if let Some(r) = line.strip_prefix(['-', '*', '•', '+']) {
                r
            } else {
                let digits = line.chars().take_while(char::is_ascii_digit).count();
                if digits == 0 || digits > 3 {
                    return None;
                }
                line[digits..].strip_prefix(['.', ')', ':'])?
            };
            if !rest.starts_with(char::is_whitespace) {
                return None;
            }
            let rest = rest.trim_start();
            let rest = rest
                .strip_prefix("[ ]")
                .or_else(|| rest.strip_prefix("[x]"))
                .unwrap_or(rest)
                .trim();
            (!rest.is_empty()).then(|| rest.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_and_bulleted_tasks_in_a_request() {
        let r = parse(
            "Use 3 agents in parallel for:\n1. Add login\n2) Fix cart\n- Export PDF\n* [ ] Docs\n\n-not a bullet\n2024 was a year",
        );
        assert!(r.wants_agents);
        assert_eq!(r.tasks, ["Add login", "Fix cart", "Export PDF", "Docs"]);
    }

    #[test]
    fn plain_questions_are_not_requests() {
        let r = parse("What does this function do?");
        assert!(!r.wants_agents);
        assert!(r.tasks.is_empty());
    }
}
