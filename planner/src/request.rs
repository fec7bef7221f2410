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

/// `1. x`, `2) x`, `- x`, `* x`, `• x`, `- [ ] x`, each trimmed. Numbered
/// tasks written on one line (`1. x 2. y 3. z`, as a shell argument is) are
/// split where the next number in order starts an item.
pub fn task_lines(text: &str) -> Vec<String> {
    text.lines()
        .flat_map(|line| {
            let line = line.trim();
            let (number, rest) = if let Some(r) = line.strip_prefix(['-', '*', '•', '+']) {
                (None, r)
            } else {
                let digits = line.chars().take_while(char::is_ascii_digit).count();
                if digits == 0 || digits > 3 {
                    return Vec::new();
                }
                let Some(rest) = line[digits..].strip_prefix(['.', ')', ':']) else {
                    return Vec::new();
                };
                (line[..digits].parse::<u32>().ok(), rest)
            };
            if !rest.starts_with(char::is_whitespace) {
                return Vec::new();
            }
            let items = match number {
                Some(n) => split_numbered(n, rest),
                None => vec![rest],
            };
            items.into_iter().filter_map(task_text).collect()
        })
        .collect()
}

/// The text after item `first`'s number, cut before ` 2. `, then ` 3. `, …
fn split_numbered(first: u32, rest: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = rest;
    let mut next = first + 1;
    while let Some(at) = [". ", ") "]
        .iter()
        .filter_map(|end| rest.find(&format!(" {next}{end}")))
        .min()
    {
        out.push(&rest[..at]);
        rest = &rest[at + 1 + next.to_string().len() + 1..];
        next += 1;
    }
    out.push(rest);
    out
}

/// One item's text without its checkbox, or nothing if it is empty.
fn task_text(item: &str) -> Option<String> {
    let rest = item.trim_start();
    let rest = rest
        .strip_prefix("[ ]")
        .or_else(|| rest.strip_prefix("[x]"))
        .unwrap_or(rest)
        .trim();
    (!rest.is_empty()).then(|| rest.to_owned())
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
    fn numbered_tasks_on_one_line_are_split_in_order() {
        assert_eq!(
            task_lines("1. Add rate limiting to login 2. Export invoices as CSV 3) Fix the cart"),
            [
                "Add rate limiting to login",
                "Export invoices as CSV",
                "Fix the cart"
            ]
        );
        // Only the next number in order starts an item: "3." after item 1 is text.
        assert_eq!(
            task_lines("1. Upgrade to Python 3. 2. Drop the old shim"),
            ["Upgrade to Python 3.", "Drop the old shim"]
        );
        assert_eq!(task_lines("- Bump to 2. 3. later"), ["Bump to 2. 3. later"]);
    }

    #[test]
    fn plain_questions_are_not_requests() {
        let r = parse("What does this function do?");
        assert!(!r.wants_agents);
        assert!(r.tasks.is_empty());
    }
}
