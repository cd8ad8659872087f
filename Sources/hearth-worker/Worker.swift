import ArgumentParser
import Foundation
import HearthEval
import Trainer

/// The root command: one subcommand per mode.
struct Worker: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearth-worker",
        abstract: "Train, evaluate and sample GPT models on CPU or an NVIDIA GPU (CUDA loaded at run time); run by hearthd for each job.",
        subcommands: [Train.self, Eval.self, Distill.self, Generate.self, Prepare.self, Bench.self, ScoreBench.self, Serve.self, GPUCheck.self]
    )
}

/// Options shared by the modes: where reports go.
struct ReportOptions: ParsableArguments {
    @Option(help: "File descriptor for JSON-lines reports (default: stdout).")
    var reportFD: Int32 = 1
}

/// Runs `body`, turning a `TrainerError` into an `error` report, one stderr line and its exit code.
func runMode(_ reporter: Reporter, _ body: () throws(TrainerError) -> Void) -> Never {
    do throws(TrainerError) {
        try body()
        exit(Trainer.ExitCode.success)
    } catch {
        if case .preempted = error {} else { reporter.emit("error", ["message": error.description, "exit_code": Int(error.exitCode)]) }
        FileHandle.standardError.write(Data("hearth-worker: \(error.description)\n".utf8))
        exit(error.exitCode)
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a training job (resumes from its newest checkpoint).")
    @Option(help: "Job spec (JSON).") var job: String
    @Option(help: "cpu, cuda or auto (overrides the job's backend).") var backend: String?
    @OptionGroup var report: ReportOptions

    func run() throws {
        let reporter = Reporter(fd: report.reportFD)
        StopSignal.install()
        runMode(reporter) { () throws(TrainerError) in
            let choice = try backend.map { (s) throws(TrainerError) in try BackendChoice.parse(s) }
            let spec = try TrainJob.load(job)
            let run = try TrainingRun(job: spec, reporter: reporter, backend: choice)
            try run.run()
        }
    }
}

struct Distill: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a distillation job: a train job plus a teacher checkpoint (resumes like train).")
    @Option(help: "Job spec (JSON).") var job: String
    @OptionGroup var report: ReportOptions

    func run() throws {
        let reporter = Reporter(fd: report.reportFD)
        StopSignal.install()
        runMode(reporter) { () throws(TrainerError) in
            let spec = try TrainJob.load(job)
            let settings = try DistillSettings.load(job)
            let run = try TrainingRun(job: spec, reporter: reporter, distill: settings)
            try run.run()
        }
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an eval job (--job: tasks, metrics, results file), or score a dataset split (--checkpoint --data).")
    @Option(help: "Eval job spec (JSON); the other options are then ignored.") var job: String?
    @Option(help: "Checkpoint directory (step-NNNNNNNN).") var checkpoint: String?
    @Option(help: "Dataset directory written by prepare.") var data: String?
    @Option(help: "Split to score.") var split = "val"
    @Option(help: "Windows per forward pass.") var batch = 8
    @Option(help: "Score at most this many tokens.") var maxTokens: Int?
    @Option(help: "Threads.") var threads = 1
    @OptionGroup var report: ReportOptions

    func run() throws {
        let reporter = Reporter(fd: report.reportFD)
        runMode(reporter) { () throws(TrainerError) in
            if let job {
                try EvalRun.run(try EvalJob.load(job), reporter: reporter)
                return
            }
            guard let checkpoint, let data else { throw .badInput("eval needs --job FILE, or --checkpoint DIR and --data DIR") }
            let info = try Checkpoint.info(checkpoint)
            let model = try GPT(info.model, threads: threads)
            _ = try Checkpoint.load(checkpoint, into: model, adam: nil)
            let split = try TokenSplit(dir: data, split: self.split)
            let tokenizer = try loadTokenizer(data + "/tokenizer.json")
            let tokens = split.shards.flatMap { $0 }
            let r = try evaluate(model: model, tokens: tokens, tokenizer: tokenizer, batch: batch, maxTokens: maxTokens)
            reporter.emit("eval", ["step": info.step, "loss": r.loss, "perplexity": r.perplexity,
                                   "bits_per_byte": r.bitsPerByte, "tokens": r.tokens, "bytes": r.bytes])
        }
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Continue a prompt with samples from a checkpoint.")
    @Option(help: "Checkpoint directory.") var checkpoint: String
    @Option(help: "Tokenizer file (tokenizer.json of the dataset).") var tokenizer: String
    @Option(help: "Prompt text.") var prompt = ""
    @Option(help: "Tokens to add.") var maxTokens = 200
    @Option(help: "Softmax temperature (0: greedy).") var temperature = 1.0
    @Option(help: "Sample among the k most likely tokens (0: all).") var topK = 0
    @Option(help: "Random seed.") var seed: UInt64 = 1337
    @Option(help: "Threads.") var threads = 1
    @OptionGroup var report: ReportOptions

    func run() throws {
        let reporter = Reporter(fd: report.reportFD)
        runMode(reporter) { () throws(TrainerError) in
            let info = try Checkpoint.info(checkpoint)
            let model = try GPT(info.model, threads: threads)
            _ = try Checkpoint.load(checkpoint, into: model, adam: nil)
            let tok = try loadTokenizer(tokenizer)
            guard tok.vocabSize <= info.model.vocab else { throw .badInput("tokenizer vocabulary exceeds the model's") }
            var o = SamplingOptions()
            o.temperature = temperature; o.topK = topK; o.seed = seed; o.maxNewTokens = maxTokens
            let prompt = try tok.encode(self.prompt)
            let ids = try Trainer.generate(model: model, prompt: prompt, options: o)
            let text = String(decoding: tok.decode(Array(ids.dropFirst(prompt.count))), as: UTF8.self)
            reporter.emit("generated", ["prompt": self.prompt, "text": text, "tokens": ids.count - prompt.count])
        }
    }
}

struct Prepare: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Tokenize text files into a dataset directory (shards + index + checksums).")
    @Argument(help: "Text files, or directories of *.txt files.") var inputs: [String]
    @Option(help: "Output dataset directory (must not exist).") var out: String
    @Option(help: "char, gpt2:DIR (encoder.json + vocab.bpe) or bpe:VOCAB.") var tokenizer = "char"
    @Option(help: "Held-out fraction (the end of the text).") var valFraction = 0.1
    @Option(help: "Maximum tokens per shard.") var shardTokens = 1 << 24
    @Option(help: "File-name suffix taken from directories.") var suffix = ".txt"
    @OptionGroup var report: ReportOptions

    func run() throws {
        let reporter = Reporter(fd: report.reportFD)
        runMode(reporter) { () throws(TrainerError) in
            var o = PrepareOptions(inputs: inputs, output: out)
            o.tokenizer = tokenizer; o.valFraction = valFraction; o.shardTokens = shardTokens; o.suffix = suffix
            let index = try prepareDataset(o)
            var splits: [String: Any] = [:]
            for (name, s) in index.splits {
                splits[name] = ["tokens": s.shards.reduce(0) { $0 + $1.tokens }, "bytes": s.bytes, "shards": s.shards.count]
            }
            reporter.emit("prepared", ["path": out, "vocab": index.vocab, "splits": splits])
        }
    }
}
