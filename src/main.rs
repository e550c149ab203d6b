//! The `horde` binary: parse the command line, run, map the outcome to an exit code.

mod cli;

// Inventories of tens of thousands of hosts make many small allocations; mimalloc halves
// their cost against glibc's allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
