//! The `logseal` binary: argument parsing and wiring. Business logic lives
//! in the libraries; this crate turns arguments into calls and results
//! into text, JSON and exit codes.
#![forbid(unsafe_code)]

mod cmd;
mod config;
mod input;
mod progress;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use logseal_core::LineFormat;
use logseal_core::checkpoint::LogVerifier;
use logseal_store::keys::KeyProvider;
use logseal_store::keys::local::load_verifier;
use logseal_store::object::ObjectStore;

use crate::config::DataDir;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tamper-evident, encrypted storage for access logs, and the auditor's verifier.
#[derive(Debug, Parser)]
#[command(name = "logseal", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Combined,
    Common,
    Json,
}

impl From<FormatArg> for LineFormat {
    fn from(f: FormatArg) -> LineFormat {
        match f {
            FormatArg::Combined => LineFormat::Combined,
            FormatArg::Common => LineFormat::Common,
            FormatArg::Json => LineFormat::Json,
        }
    }
}

#[derive(Debug, clap::Args)]
struct DataDirArg {
    /// The data directory.
    #[arg(long, env = "LOGSEAL_DATA_DIR", default_value = "./logseal-data")]
    data_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
struct StoreArg {
    /// Use this store instead of the configured one: s3://bucket/prefix or a store directory.
    #[arg(long = "store", env = "LOGSEAL_STORE", value_name = "URL|DIR")]
    store: Option<String>,
    /// Use this checkpoint mirror instead of the configured one: s3://bucket/prefix or a directory.
    #[arg(long = "mirror", env = "LOGSEAL_MIRROR_STORE", value_name = "URL|DIR")]
    mirror: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LockArg {
    Compliance,
    Governance,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Print the checkpoint public key: PEM (with the vkey line) or, with --vkey, the vkey line.
    /// Auditors verify with it offline: logseal verify --pubkey FILE.
    ExportPublic {
        #[command(flatten)]
        dir: DataDirArg,
        /// The KMS signing key (id, ARN or alias) to read the public key from (kms:GetPublicKey);
        /// default: the data directory's signing key.
        #[arg(long)]
        kms_key: Option<String>,
        /// The deployment name the key signs for (default: the data directory's).
        #[arg(long)]
        deployment: Option<String>,
        /// Print only the C2SP vkey line.
        #[arg(long)]
        vkey: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Check a policy file and an entities file against logseal's schema (exit 0 when both load).
    Check {
        /// Cedar policies (start from `logseal policy show default`).
        #[arg(long)]
        policies: PathBuf,
        /// Cedar entities (JSON): staff, their grants (with expiry) and roles.
        #[arg(long)]
        entities: PathBuf,
    },
    /// Print the default policy or the schema.
    Show {
        #[arg(value_enum)]
        what: PolicyText,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PolicyText {
    Default,
    Schema,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a data directory: config, local keys, checkpoint signing key pair.
    Init {
        #[command(flatten)]
        dir: DataDirArg,
        /// Deployment name (origin prefix and key name), e.g. logs.example.com/prod.
        #[arg(long)]
        deployment: Option<String>,
        /// Use AWS KMS: the base domain's symmetric key (id or ARN); needs --kms-pii-key.
        #[arg(long, env = "LOGSEAL_KMS_BASE_KEY", requires = "kms_pii_key")]
        kms_base_key: Option<String>,
        /// Use AWS KMS: the pii domain's symmetric key (id or ARN); needs --kms-base-key.
        #[arg(long, env = "LOGSEAL_KMS_PII_KEY", requires = "kms_base_key")]
        kms_pii_key: Option<String>,
        /// Sign checkpoints in AWS KMS with this ECC_NIST_P256 SIGN_VERIFY key (id or ARN)
        /// instead of a local key file.
        #[arg(long, env = "LOGSEAL_KMS_SIGNING_KEY")]
        kms_signing_key: Option<String>,
        /// Keep sealed objects here instead of the data directory's store/: s3://bucket/prefix.
        #[arg(long = "store", env = "LOGSEAL_STORE", value_name = "URL")]
        store: Option<String>,
        /// Copy every checkpoint to this second store too: s3://bucket/prefix or a directory.
        #[arg(long = "mirror", env = "LOGSEAL_MIRROR_STORE", value_name = "URL|DIR")]
        mirror: Option<String>,
        /// With --store s3://…: Object Lock mode of every object written (compliance, governance).
        #[arg(long, value_enum, requires = "retain_days")]
        object_lock: Option<LockArg>,
        /// With --object-lock: days every object is kept from its write.
        #[arg(long, requires = "object_lock")]
        retain_days: Option<u32>,
    },
    /// Access policies of the query server (Cedar).
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Key management: export the checkpoint public key for auditors.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Seal existing access-log files (plain, .gz, .zst, or - for stdin).
    Import {
        #[command(flatten)]
        dir: DataDirArg,
        #[command(flatten)]
        store: StoreArg,
        /// The stream to append to.
        #[arg(long, default_value = "import")]
        stream: String,
        /// Line format.
        #[arg(long, value_enum, default_value = "combined")]
        format: FormatArg,
        /// Records per sealed file (default from the config).
        #[arg(long)]
        file_records: Option<usize>,
        /// TOML file mapping record fields to JSON keys (for --format json).
        #[arg(long)]
        json_mapping: Option<PathBuf>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Files to import.
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Verify a store: structure with the public key only, or --deep with keys.
    Verify {
        #[command(flatten)]
        dir: DataDirArg,
        #[command(flatten)]
        store: StoreArg,
        /// The log's public key (C2SP vkey). Default: the data directory's own copy.
        #[arg(long)]
        pubkey: Option<PathBuf>,
        /// Decrypt every file and recompute every commitment (needs the keys).
        #[arg(long)]
        deep: bool,
        /// Keep the last verified checkpoints here; later runs check only what is new.
        #[arg(long)]
        state: Option<PathBuf>,
        /// With --state: still re-read and re-hash everything.
        #[arg(long)]
        full: bool,
        /// Only this stream.
        #[arg(long)]
        stream: Option<String>,
        /// Report as JSON.
        #[arg(long)]
        json: bool,
        /// Hashing threads (default: number of CPUs).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Print an evidence bundle proving one record (JSON on stdout).
    Prove {
        #[command(flatten)]
        dir: DataDirArg,
        #[command(flatten)]
        store: StoreArg,
        /// The stream.
        #[arg(long)]
        stream: String,
        /// The record's sequence number.
        #[arg(long)]
        seq: u64,
    },
    /// Run the agent: TLS listeners, WAL, sealing (needs an [agent] section).
    Agent {
        #[command(flatten)]
        dir: DataDirArg,
        #[command(flatten)]
        store: StoreArg,
        /// Only check this config file (a logseal.toml) and its TLS files, then exit.
        #[arg(long)]
        check_config: Option<PathBuf>,
        /// Log as JSON lines instead of text.
        #[arg(long)]
        log_json: bool,
    },
    /// Run logseal on its embedded default: local store and keys and a development CA
    /// in the data directory (made on first start), agent on 127.0.0.1.
    Up {
        #[command(flatten)]
        dir: DataDirArg,
        /// On first start, let the system pick free ports (tests, or when 8443/9464 are taken).
        #[arg(long)]
        any_port: bool,
    },
    /// Run the query server for staff (the data directory's [serve] section): mTLS, Cedar
    /// policy, masking, every request recorded in the _access stream.
    Serve {
        #[command(flatten)]
        dir: DataDirArg,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Search the sealed logs through the query server (results stream as they are found).
    Search {
        #[command(flatten)]
        filters: cmd::search::FilterArgs,
        #[command(flatten)]
        purpose: cmd::search::PurposeArgs,
        /// At most this many rows.
        #[arg(long)]
        limit: Option<u64>,
        /// Output format (default: table on a terminal, ndjson when piped).
        #[arg(short = 'o', long = "output", value_enum)]
        output: Option<cmd::search::Output>,
    },
    /// Aggregates over the sealed logs: a count, the top values of a field, rows per hour or day.
    Stats {
        #[command(flatten)]
        filters: cmd::search::FilterArgs,
        #[command(flatten)]
        purpose: cmd::search::PurposeArgs,
        /// Count matching rows.
        #[arg(long, group = "what")]
        count: bool,
        /// The most frequent values of FIELD (e.g. host, status, url, client_ip), optionally how many (default 10).
        #[arg(long, num_args = 1..=2, value_names = ["FIELD", "N"], group = "what")]
        top: Option<Vec<String>>,
        /// Rows per hour or day.
        #[arg(long, value_parser = ["hour", "day"], group = "what")]
        by: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Read the access-audit trail (who searched what, when, why; default: the last 24 hours).
    Audit {
        #[command(flatten)]
        range: cmd::search::RangeArgs,
        /// Only requests of this staff identity.
        #[arg(long)]
        principal: Option<String>,
        #[command(flatten)]
        purpose: cmd::search::PurposeArgs,
        /// At most this many records.
        #[arg(long)]
        limit: Option<u64>,
        /// Output format (default: table on a terminal, ndjson when piped).
        #[arg(short = 'o', long = "output", value_enum)]
        output: Option<cmd::search::Output>,
    },
    /// Verify an evidence bundle offline with the log's public key.
    VerifyProof {
        /// The bundle (- for stdin).
        proof: PathBuf,
        /// The log's public key (C2SP vkey line, or the PEM file of `logseal keys export-public`).
        #[arg(long)]
        pubkey: PathBuf,
    },
}

fn main() -> ExitCode {
    // A library that panics on damaged input is caught and reported as a
    // finding or an error; say what happened in one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("logseal: internal failure{location}: {message}");
    }));
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("logseal: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn verifier_for(pubkey: Option<&Path>, dir: &Path) -> Result<LogVerifier> {
    match pubkey {
        Some(path) => Ok(load_verifier(path)?),
        None => {
            let data = DataDir::open(dir)?;
            eprintln!(
                "logseal: note: using the public key stored in the data directory ({}); pass --pubkey with a copy you trust for an independent check",
                data.public_key_path().display()
            );
            data.verifier()
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let stderr_tty = std::io::stderr().is_terminal();
    match cli.command {
        Command::Init {
            dir,
            deployment,
            kms_base_key,
            kms_pii_key,
            kms_signing_key,
            store,
            mirror,
            object_lock,
            retain_days,
        } => {
            let options = cmd::init::InitOptions {
                deployment,
                kms: kms_base_key.zip(kms_pii_key),
                kms_signing_key,
                store,
                mirror,
                object_lock: object_lock.zip(retain_days).map(|(mode, retain_days)| config::ObjectLockConfig {
                    mode: match mode {
                        LockArg::Compliance => config::LockModeConfig::Compliance,
                        LockArg::Governance => config::LockModeConfig::Governance,
                    },
                    retain_days,
                }),
            };
            let made = cmd::init::run(&dir.data_dir, options)?;
            println!("initialized logseal data directory {}", dir.data_dir.display());
            println!("checkpoint public key: {}", made.public_key_path.display());
            println!("vkey: {}", made.vkey);
            if made.local_signing_key {
                println!(
                    "give the public key to your auditors; keep {}/keys secret and backed up",
                    dir.data_dir.display()
                );
            } else {
                println!("give the public key to your auditors (logseal keys export-public writes it as PEM)");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy { command: PolicyCommand::Show { what } } => {
            print!(
                "{}",
                match what {
                    PolicyText::Default => logseal_query::policy::DEFAULT_POLICIES,
                    PolicyText::Schema => logseal_query::policy::SCHEMA,
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy { command: PolicyCommand::Check { policies, entities } } => {
            let read = |p: &Path| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
            let loaded = logseal_query::policy::AccessPolicy::load(&read(&policies)?, &read(&entities)?)
                .with_context(|| format!("{} with {}", policies.display(), entities.display()))?;
            let (ids, principals) = loaded.summary();
            println!("ok: {} policies valid against the schema ({})", ids.len(), ids.join(", "));
            println!("ok: {principals} principals with grants in {}", entities.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys { command: KeysCommand::ExportPublic { dir, kms_key, deployment, vkey } } => {
            let text = cmd::keys::export_public(&dir.data_dir, kms_key.as_deref(), deployment.as_deref(), vkey)?;
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { dir, store, stream, format, file_records, json_mapping, json, files } => {
            let data = DataDir::open(&dir.data_dir)?.with_store(store.store).with_mirror(store.mirror);
            let json_mapping = match json_mapping {
                Some(path) => {
                    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                    Some(toml::from_str(&text).with_context(|| format!("JSON mapping {}", path.display()))?)
                }
                None => None,
            };
            let args = cmd::import::ImportArgs {
                stream,
                format: format.into(),
                files,
                file_records,
                json_mapping,
                progress: stderr_tty,
            };
            let summary = cmd::import::run(&data, args)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print_import_summary(&summary);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { dir, store, pubkey, deep, state, full, stream, json, threads } => {
            let verifier = verifier_for(pubkey.as_deref(), &dir.data_dir)?;
            // With --store and --pubkey, no data directory is needed (an
            // auditor's structural check); --deep needs its keys.
            let named_store = store.store.clone();
            type Opened = (Arc<dyn ObjectStore>, Option<Arc<dyn ObjectStore>>, Option<Arc<dyn KeyProvider>>);
            let (store, mirror, keys): Opened = match (store.store, store.mirror) {
                (Some(spec), mirror) if !deep => {
                    let default = config::StoreConfig::default();
                    let mirror = mirror.map(|m| config::open_mirror(&m, &default)).transpose()?;
                    (config::open_store(&spec, &default)?, mirror, None)
                }
                (spec, mirror) => {
                    let data = DataDir::open(&dir.data_dir)?.with_store(spec).with_mirror(mirror);
                    let keys: Option<Arc<dyn KeyProvider>> = if deep { Some(data.keys()?) } else { None };
                    (data.store()?, data.mirror()?, keys)
                }
            };
            if let Some(s) = &stream {
                logseal_core::checkpoint::validate_stream_name(s)?;
            }
            let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
            let args = cmd::verify::VerifyArgs {
                store,
                mirror,
                verifier,
                keys,
                state,
                full,
                stream,
                threads,
                progress: stderr_tty,
            };
            let verified = cmd::verify::run(args)?;
            // A store named on the command line that holds nothing is most
            // likely a wrong URL or prefix, not an intact log.
            if let Some(spec) = named_store
                && verified.report.streams.is_empty()
            {
                anyhow::bail!(
                    "{spec} holds no logseal streams (nothing under {}); check the bucket, prefix or directory",
                    logseal_core::layout::FORMAT_PREFIX
                );
            }
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&cmd::verify::to_json(&verified))?)?;
            } else {
                write!(out, "{}", cmd::verify::to_text(&verified))?;
            }
            Ok(if verified.report.findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Prove { dir, store, stream, seq } => {
            let data = DataDir::open(&dir.data_dir)?.with_store(store.store).with_mirror(store.mirror);
            let bundle = cmd::prove::prove(&data, &stream, seq)?;
            std::io::stdout().lock().write_all(&bundle)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Agent { dir, store, check_config, log_json } => {
            if let Some(path) = check_config {
                cmd::agent::check_config(&path)?;
                println!("{}: ok", path.display());
                return Ok(ExitCode::SUCCESS);
            }
            init_logging(log_json);
            let data = DataDir::open(&dir.data_dir)?.with_store(store.store).with_mirror(store.mirror);
            cmd::agent::run(&data, cmd::agent::print_listening)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Up { dir, any_port } => {
            init_logging(false);
            cmd::agent::up(&dir.data_dir, any_port)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { dir, store } => {
            init_logging(false);
            let data = DataDir::open(&dir.data_dir)?.with_store(store.store).with_mirror(store.mirror);
            cmd::serve::run(&data)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Search { filters, purpose, limit, output } => {
            Ok(exit(cmd::search::search(&filters, &purpose, limit, output)?))
        }
        Command::Stats { filters, purpose, count, top, by, json } => {
            let what = match (count, top, by) {
                (true, _, _) => cmd::search::StatsWhat::Count,
                (_, Some(top), _) => {
                    let n = top
                        .get(1)
                        .map(|n| n.parse::<usize>())
                        .transpose()
                        .context("--top FIELD N: N must be a number")?;
                    cmd::search::StatsWhat::Top(top[0].clone(), n)
                }
                (_, _, Some(by)) => cmd::search::StatsWhat::By(by),
                _ => anyhow::bail!("logseal stats: give one of --count, --top FIELD [N], --by hour|day"),
            };
            Ok(exit(cmd::search::stats(&filters, &purpose, what, json)?))
        }
        Command::Audit { range, principal, purpose, limit, output } => {
            Ok(exit(cmd::search::audit(&range, principal, &purpose, limit, output)?))
        }
        Command::VerifyProof { proof, pubkey } => {
            let verifier = load_verifier(&pubkey)?;
            match cmd::prove::verify_proof(&proof, &verifier)? {
                Ok(proven) => {
                    print!("{}", cmd::prove::describe(&proven));
                    Ok(ExitCode::SUCCESS)
                }
                Err(why) => {
                    println!("INVALID: {why}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}

/// Structured logs on stderr: text or JSON lines; `RUST_LOG` filters
/// (default `info`).
fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn print_import_summary(s: &cmd::import::ImportSummary) {
    let errors: u64 = s.parse_errors.values().sum();
    println!("records sealed:   {}", s.records);
    if let Some((a, b)) = s.seq_range {
        println!("sequence range:   {a}..={b}");
    }
    println!(
        "files written:    {} ({} bytes, {:.1} bytes/record)",
        s.files,
        s.bytes_written,
        s.bytes_written as f64 / s.records.max(1) as f64
    );
    println!("raw lines stored: {} (the rest are rendered back from their fields)", s.raw_stored);
    println!("parse errors:     {errors} (kept with their raw bytes)");
    for (kind, n) in &s.parse_errors {
        println!("  {kind:<16} {n}");
    }
    println!("time:             {:.2} s ({:.0} records/s)", s.seconds, s.records as f64 / s.seconds.max(1e-9));
}
