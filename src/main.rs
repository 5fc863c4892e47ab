use std::process::ExitCode;

fn main() -> ExitCode {
    match oci_add_hooks::run(std::env::args_os().collect()) {
        Ok(code) => code,
        Err(failure) => {
            failure.report();
            ExitCode::FAILURE
        }
    }
}
