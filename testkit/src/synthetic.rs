//! A synthetic project of 10,000 small files in four languages (100 packages
//! of 100 modules, each importing a sibling), for timing the planner at scale.

use std::path::Path;

use ccmulti_planner::TaskInput;

pub fn ten_thousand_files(root: &Path) {
    for pkg in 0..100 {
        let base = root.join(format!("pkg{pkg}"));
        std::fs::create_dir_all(&base).expect("writing the synthetic project");
        for module in 0..100 {
            let (name, body) = match module % 4 {
                0 => (
                    format!("mod{module}.py"),
                    format!(
                        "from pkg{pkg} import mod{}\ndef handler_{module}():\n    pass\n",
                        module + 4
                    ),
                ),
                1 => (
                    format!("mod{module}.ts"),
                    format!(
                        "import {{ x }} from './mod{}';\nexport function render{module}() {{}}\n",
                        module + 4
                    ),
                ),
                2 => (
                    format!("mod{module}.go"),
                    format!(
                        "package pkg{pkg}\n\nimport \"fmt\"\n\nfunc Run{module}() {{ fmt.Println() }}\n"
                    ),
                ),
                _ => (
                    format!("mod{module}.rs"),
                    format!(
                        "use crate::mod{};\npub fn run_{module}() {{}}\n",
                        module + 4
                    ),
                ),
            };
            std::fs::write(base.join(name), body).expect("writing the synthetic project");
        }
    }
}

/// 50 tasks naming definitions and packages of the synthetic project.
pub fn tasks() -> Vec<TaskInput> {
    (0..50)
        .map(|i| TaskInput {
            description: format!("Change handler_{i} and render{} in pkg{i}", i + 1),
            files: None,
        })
        .collect()
}
