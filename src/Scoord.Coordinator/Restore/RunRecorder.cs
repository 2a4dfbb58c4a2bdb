using System.Globalization;
using Scoord.Journal;

namespace Scoord.Coordinator.Restore;

/// <summary>
/// Turns a <see cref="RunOptions"/> into the <see cref="RunRecord"/> that `scoord run` stores at its start,
/// and back (for `scoord restore`). Options are kept by their command-line names: app-checkpoint, only,
/// exclude (repeatable, absolute), on-checkpoint, checkpoint-every and checkpoint-timeout (milliseconds,
/// "1500ms"), checkpoint-signal (the number), durability, memory.
/// </summary>
public static class RunRecorder
{
    /// <summary>
    /// Appends the run record of a run that is about to start (scoord's cwd and environment are the
    /// program's) on a thread of the pool: it is written while the program starts (its first use of JSON
    /// and a synced write are a tenth of a `scoord run -- true`). <see cref="End"/> waits for it.
    /// </summary>
    public static Task<RunRecord> BeginInBackground(JournalStore store, RunOptions options)
    {
        ArgumentNullException.ThrowIfNull(store);
        ulong startSeq = store.Sequences.Last;
        RunRecord record = Describe(options);
        return Task.Run(() => store.AppendRunRecord(record, startSeq));
    }

    /// <summary>Appends the run record of a run that is about to start (scoord's cwd and environment are the program's).</summary>
    public static RunRecord Begin(JournalStore store, RunOptions options)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.AppendRunRecord(Describe(options));
    }

    private static RunRecord Describe(RunOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry kv in Environment.GetEnvironmentVariables())
        {
            env[(string)kv.Key] = (string?)kv.Value ?? string.Empty;
        }

        var record = new RunRecord
        {
            StartTimeNs = NowNs(),
            Argv = [.. options.Command],
            Cwd = Environment.CurrentDirectory,
            Environment = env,
            CoordinatorPid = Environment.ProcessId,
            Options = OptionsOf(options),
            RestoredFrom = options.RestoredFrom,
        };
        return record;
    }

    /// <summary>Appends the end of the run (its exit status).</summary>
    public static void End(JournalStore store, RunRecord record, int exitStatus)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(record);
        store.AppendRunEnd(record.Id, exitStatus, NowNs());
    }

    internal static Dictionary<string, IReadOnlyList<string>> OptionsOf(RunOptions o)
    {
        var d = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
        {
            ["app-checkpoint"] = [.. o.AppCheckpoint],
            ["only"] = [.. o.Only],
            ["exclude"] = [.. o.Exclude],
            ["durability"] = [DurabilityName(o.Durability)],
            ["memory"] = [MemoryProviders.Name(o.Memory)],
            ["checkpoint-timeout"] = [Ms(o.CheckpointTimeout)],
        };
        if (o.OnCheckpoint is not null)
        {
            d["on-checkpoint"] = [o.OnCheckpoint];
        }

        if (o.CheckpointEvery is { } every)
        {
            d["checkpoint-every"] = [Ms(every)];
        }

        if (o.CheckpointSignal is { } sig)
        {
            d["checkpoint-signal"] = [sig.ToString(CultureInfo.InvariantCulture)];
        }

        if (o.NoFastPath)
        {
            d["no-fastpath"] = ["true"];
        }

        return d;
    }

    /// <summary>The run options of a recorded run, for a relaunch on <paramref name="journalDirectory"/> with <paramref name="command"/>.</summary>
    public static RunOptions ToRunOptions(RunRecord record, string journalDirectory, IReadOnlyList<string> command)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new RunOptions
        {
            JournalDirectory = journalDirectory,
            Command = command,
            AppCheckpoint = record.OptionValues("app-checkpoint"),
            Only = record.OptionValues("only"),
            Exclude = record.OptionValues("exclude"),
            OnCheckpoint = record.Option("on-checkpoint"),
            Durability = ParseDurability(record.Option("durability")),
            Memory = MemoryProviders.TryParse(record.Option("memory"), out MemoryProvider m) ? m : MemoryProvider.None,
            CheckpointEvery = ParseMs(record.Option("checkpoint-every")),
            CheckpointSignal = int.TryParse(record.Option("checkpoint-signal"), NumberStyles.None, CultureInfo.InvariantCulture, out int s) ? s : null,
            CheckpointTimeout = ParseMs(record.Option("checkpoint-timeout")) ?? TimeSpan.FromSeconds(60),
            NoFastPath = record.Option("no-fastpath") == "true",
        };
    }

    internal static string DurabilityName(Durability d) => d switch
    {
        Durability.SyncPoints => "sync-points",
        Durability.Strict => "strict",
        _ => "process",
    };

    private static Durability ParseDurability(string? text) => text switch
    {
        "sync-points" => Durability.SyncPoints,
        "strict" => Durability.Strict,
        _ => Durability.Process,
    };

    private static string Ms(TimeSpan t) => ((long)Math.Round(t.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture) + "ms";

    private static TimeSpan? ParseMs(string? text) =>
        text is not null && text.EndsWith("ms", StringComparison.Ordinal)
        && long.TryParse(text.AsSpan(0, text.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out long ms) && ms > 0
            ? TimeSpan.FromMilliseconds(ms)
            : null;

    private static long NowNs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
}
