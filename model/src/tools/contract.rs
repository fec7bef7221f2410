//! The tool contract, written once: each coordination tool's name, its
//! argument type and its result type. The server registers, describes and
//! dispatches the tools by it, the JSON Schemas are generated from its types,
//! and the clients (the hooks, the test kit) call a tool by its type
//! (`call::<Claim>(&args)`), so a name or a type cannot differ between them.

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{
    AnalysisReply, AnalyzeArgs, ClaimArgs, ClaimResult, DistributeArgs, DistributionReply,
    ProgressArgs, ProgressResult, ReleaseArgs, ReleaseResult, SetupArgs, SetupReply, StatusArgs,
    StatusResult,
};

/// One coordination tool: the name clients call it by, what it takes and
/// what it answers (the answer's `structuredContent`).
pub trait Tool {
    const NAME: &'static str;
    /// Its arguments; the `inputSchema` is generated from this type.
    type Args: Serialize + DeserializeOwned + JsonSchema + 'static;
    /// Its result; the `outputSchema` is generated from this type.
    type Result: Serialize + JsonSchema + 'static;
    /// This tool among [`ToolName::ALL`].
    const ID: ToolName;

    /// Whether `result` reports success; a result with `success: false` (a
    /// conflict, a path not held, a refused plan) is an answer, marked as
    /// an error result.
    fn success(result: &Self::Result) -> bool;
}

macro_rules! tools {
    ($($(#[$doc:meta])* $tool:ident = $name:literal, $id:ident: $args:ty => $result:ty;)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub enum $tool {}

            impl Tool for $tool {
                const NAME: &'static str = $name;
                type Args = $args;
                type Result = $result;
                const ID: ToolName = ToolName::$id;

                fn success(result: &$result) -> bool {
                    result.success
                }
            }
        )*

        /// The coordination tools as values: what entitlement, listing and
        /// dispatch go by.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ToolName {
            $($id,)*
        }

        impl ToolName {
            /// Every tool, in listing order.
            pub const ALL: [ToolName; [$(ToolName::$id),*].len()] = [$(ToolName::$id),*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$id => <$tool as Tool>::NAME,)*
                }
            }
        }
    };
}

tools! {
    /// `analyze_task_conflicts`: the planner's first step.
    Analyze = "analyze_task_conflicts", AnalyzeTaskConflicts: AnalyzeArgs => AnalysisReply;
    /// `create_task_distribution`: the planner's second step.
    Distribute = "create_task_distribution", CreateTaskDistribution: DistributeArgs => DistributionReply;
    /// `claim_file_lock`.
    Claim = "claim_file_lock", ClaimFileLock: ClaimArgs => ClaimResult;
    /// `release_file_lock`.
    Release = "release_file_lock", ReleaseFileLock: ReleaseArgs => ReleaseResult;
    /// `sync_progress`.
    Progress = "sync_progress", SyncProgress: ProgressArgs => ProgressResult;
    /// `check_agent_status`.
    Status = "check_agent_status", CheckAgentStatus: StatusArgs => StatusResult;
    /// `setup_multi_agent_coordination`: the one-shot planner.
    Setup = "setup_multi_agent_coordination", SetupMultiAgentCoordination: SetupArgs => SetupReply;
}

impl ToolName {
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn each_name_is_one_tool() {
        let names: BTreeSet<&str> = ToolName::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(names.len(), ToolName::ALL.len(), "{names:?}");
        for tool in ToolName::ALL {
            assert_eq!(ToolName::parse(tool.as_str()), Some(tool));
        }
        assert_eq!(ToolName::parse("claim_file_locks"), None);
    }

    #[test]
    fn each_marker_names_its_own_entry() {
        fn id<T: Tool>() -> (ToolName, &'static str) {
            (T::ID, T::NAME)
        }
        for (tool, name) in [
            id::<Analyze>(),
            id::<Distribute>(),
            id::<Claim>(),
            id::<Release>(),
            id::<Progress>(),
            id::<Status>(),
            id::<Setup>(),
        ] {
            assert_eq!(tool.as_str(), name);
        }
    }
}
