use clap::Parser;

fn main() {
    let cli = canary::cli::Cli::parse();
    std::process::exit(canary::cli::main_with(cli));
}
