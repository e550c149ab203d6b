//! The files in `examples/` do what their comments say.

use crate::support::{horde, root};

#[test]
fn dynamic_inventory_example_lists_groups_and_vars() {
    let run = horde(["inventory", "-i", "examples/dynamic-inventory.py", "--list"])
        .current_dir(root())
        .run()
        .expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(v["workers"]["hosts"].as_array().map(Vec::len), Some(8));
    assert_eq!(v["_meta"]["hostvars"]["worker03"]["ansible_user"], "runner");
    assert_eq!(v["_meta"]["hostvars"]["broker"]["port"], 5672);
    let run = horde([
        "hosts",
        "-i",
        "examples/dynamic-inventory.py",
        "workers:&zone_b",
    ])
    .current_dir(root())
    .run()
    .expect_code(0);
    assert!(
        run.stdout.starts_with("  hosts (4):\n    worker02\n"),
        "{}",
        run.stdout
    );
}
