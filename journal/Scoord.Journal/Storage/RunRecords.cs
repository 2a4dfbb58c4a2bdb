using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Scoord.Journal.Rocks;

namespace Scoord.Journal;

/// <summary>
/// What one `scoord run` was asked to run, kept so that `scoord restore` can start the application again
/// (docs/synchronizer.md, "Run records"). Stored in the "meta" family, append-only: the start record under
/// <c>"run/" + u64 BE id</c>, written before the program starts, and the end record under
/// <c>"run/" + u64 BE id + "/end"</c> when it has finished. Both are UTF-8 JSON objects with a version
/// key <c>"v": 1</c>; unknown keys are ignored (later versions may add some).
/// </summary>
public sealed record RunRecord
{
    /// <summary>The run's number: 1 for the first run of the journal, then in order.</summary>
    public ulong Id { get; init; }

    /// <summary>The last sequence number in the journal before the run began: every record of the run has a larger one.</summary>
    public ulong StartSeq { get; init; }

    /// <summary>When the run began (ns since the Unix epoch, UTC).</summary>
    public long StartTimeNs { get; init; }

    /// <summary>The command line as given to `scoord run` (PROG ARGS).</summary>
    public required IReadOnlyList<string> Argv { get; init; }

    /// <summary>The working directory the program started in (absolute).</summary>
    public required string Cwd { get; init; }

    /// <summary>scoord's environment when the run began (what the program got, SCOORD_JOURNAL aside).</summary>
    public required IReadOnlyDictionary<string, string> Environment { get; init; }

    /// <summary>The pid of the coordinator of the run.</summary>
    public int CoordinatorPid { get; init; }

    /// <summary>The run options, by their `scoord run` names (without the dashes): values are strings, or lists of strings for repeatable options.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Options { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>The checkpoint id a `scoord restore` relaunched this run from, or null for a plain `scoord run`.</summary>
    public int? RestoredFrom { get; init; }

    /// <summary>When the run ended (ns since the Unix epoch), or null while it runs or if its coordinator was killed.</summary>
    public long? EndTimeNs { get; init; }

    /// <summary>The program's exit status (128+N for signal N), or null (see <see cref="EndTimeNs"/>).</summary>
    public int? ExitStatus { get; init; }

    /// <summary>The first value of option <paramref name="name"/>, or null.</summary>
    public string? Option(string name) => Options.TryGetValue(name, out IReadOnlyList<string>? v) && v.Count > 0 ? v[0] : null;

    /// <summary>Every value of option <paramref name="name"/> (empty if absent).</summary>
    public IReadOnlyList<string> OptionValues(string name) => Options.TryGetValue(name, out IReadOnlyList<string>? v) ? v : [];
}

/// <summary>Appends and reads <see cref="RunRecord"/>s in a journal's "meta" family.</summary>
public static class RunRecords
{
    private const int FormatVersion = 1;
    private const int IdKeySize = 12;
    private static readonly byte[] s_prefix = "run/"u8.ToArray();
    private static readonly byte[] s_endSuffix = "/end"u8.ToArray();

    /// <summary>
    /// Appends the start record of a new run (its <see cref="RunRecord.Id"/> and <see cref="RunRecord.StartSeq"/>
    /// are assigned here: the next id, and the journal's last sequence number), synced. Needs a store opened
    /// for writing (the coordinator's): only the lock holder appends, so ids cannot collide.
    /// </summary>
    public static RunRecord AppendRunRecord(this JournalStore store, RunRecord record) => AppendRunRecord(store, record, store.Sequences.Last);

    /// <summary>As the other overload, with the last sequence number before the run given (the record may be written while the run starts).</summary>
    public static RunRecord AppendRunRecord(this JournalStore store, RunRecord record, ulong startSeq)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(record);
        _ = store.Writer; // throws for a read-only store
        ulong last = 0;
        foreach (RunRecord r in store.ReadRunRecords())
        {
            last = Math.Max(last, r.Id);
        }

        RunRecord stored = record with { Id = last + 1, StartSeq = startSeq, EndTimeNs = null, ExitStatus = null };
        Put(store, Key(stored.Id, end: false), EncodeStart(stored), "writing a run record");
        return stored;
    }

    /// <summary>Appends the end record of run <paramref name="id"/> (synced).</summary>
    public static void AppendRunEnd(this JournalStore store, ulong id, int exitStatus, long endTimeNs)
    {
        ArgumentNullException.ThrowIfNull(store);
        _ = store.Writer;
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("v", FormatVersion);
            w.WriteNumber("end_time_ns", endTimeNs);
            w.WriteNumber("exit_status", exitStatus);
            w.WriteEndObject();
        }

        Put(store, Key(id, end: true), buffer.ToArray(), "writing the end of a run record");
    }

    /// <summary>Every run record, oldest first, each with its end (exit status) if one was written.</summary>
    public static IReadOnlyList<RunRecord> ReadRunRecords(this JournalStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        var list = new List<RunRecord>();
        ColumnFamilyHandle meta = store.Family(JournalLayout.MetaFamily);
        try
        {
            using Iterator it = store.Db.NewIterator(meta, store.ReadOptions);
            for (it.Seek(s_prefix); it.Valid(); it.Next())
            {
                ReadOnlySpan<byte> key = it.GetKeySpan();
                if (!key.StartsWith(s_prefix))
                {
                    break;
                }

                if (key.Length == IdKeySize)
                {
                    ulong id = BinaryPrimitives.ReadUInt64BigEndian(key[s_prefix.Length..]);
                    list.Add(DecodeStart(store.Directory, id, it.GetValueSpan()));
                }
                else if (key.Length == IdKeySize + s_endSuffix.Length && key[IdKeySize..].SequenceEqual(s_endSuffix))
                {
                    ulong id = BinaryPrimitives.ReadUInt64BigEndian(key[s_prefix.Length..IdKeySize]);
                    // The end record sorts right after its start record.
                    if (list.Count == 0 || list[^1].Id != id)
                    {
                        ThrowHelper.ThrowDamaged(store.Directory, $"run record {id} has an end but no start");
                    }

                    list[^1] = DecodeEnd(store.Directory, list[^1], it.GetValueSpan());
                }
                else
                {
                    ThrowHelper.ThrowDamaged(store.Directory, $"a run record key in meta has {key.Length} bytes");
                }
            }

            it.CheckError();
        }
        catch (RocksDbException e)
        {
            ThrowHelper.ThrowRocksDb(store.Directory, "reading run records", e);
        }

        return list;
    }

    /// <summary>The newest run that began before <paramref name="seq"/> (its StartSeq is smaller), or null.</summary>
    public static RunRecord? RunBefore(this JournalStore store, ulong seq)
    {
        RunRecord? found = null;
        foreach (RunRecord r in store.ReadRunRecords())
        {
            if (r.StartSeq < seq)
            {
                found = r;
            }
        }

        return found;
    }

    internal static byte[] Key(ulong id, bool end)
    {
        byte[] key = new byte[IdKeySize + (end ? s_endSuffix.Length : 0)];
        s_prefix.CopyTo(key, 0);
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(s_prefix.Length), id);
        if (end)
        {
            s_endSuffix.CopyTo(key, IdKeySize);
        }

        return key;
    }

    internal static byte[] EncodeStart(RunRecord r)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("v", FormatVersion);
            w.WriteNumber("id", r.Id);
            w.WriteNumber("start_seq", r.StartSeq);
            w.WriteNumber("start_time_ns", r.StartTimeNs);
            w.WriteNumber("coordinator_pid", r.CoordinatorPid);
            w.WriteString("cwd", r.Cwd);
            w.WriteStartArray("argv");
            foreach (string a in r.Argv)
            {
                w.WriteStringValue(a);
            }

            w.WriteEndArray();
            w.WriteStartObject("env");
            foreach ((string k, string v) in r.Environment.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.WriteString(k, v);
            }

            w.WriteEndObject();
            w.WriteStartObject("options");
            foreach ((string k, IReadOnlyList<string> values) in r.Options.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.WriteStartArray(k);
                foreach (string v in values)
                {
                    w.WriteStringValue(v);
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
            if (r.RestoredFrom is { } from)
            {
                w.WriteNumber("restored_from", from);
            }
            else
            {
                w.WriteNull("restored_from");
            }

            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    internal static RunRecord DecodeStart(string dir, ulong id, ReadOnlySpan<byte> value)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(value.ToArray());
            JsonElement root = doc.RootElement;
            CheckVersion(dir, id, root);
            var argv = new List<string>();
            foreach (JsonElement a in root.GetProperty("argv").EnumerateArray())
            {
                argv.Add(Str(a));
            }

            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty p in root.GetProperty("env").EnumerateObject())
            {
                env[p.Name] = Str(p.Value);
            }

            var options = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            if (root.TryGetProperty("options", out JsonElement opts))
            {
                foreach (JsonProperty p in opts.EnumerateObject())
                {
                    options[p.Name] = [.. p.Value.EnumerateArray().Select(Str)];
                }
            }

            ulong storedId = root.GetProperty("id").GetUInt64();
            if (storedId != id)
            {
                ThrowHelper.ThrowDamaged(dir, $"run record {id} holds the record of run {storedId}");
            }

            return new RunRecord
            {
                Id = id,
                StartSeq = root.GetProperty("start_seq").GetUInt64(),
                StartTimeNs = root.GetProperty("start_time_ns").GetInt64(),
                CoordinatorPid = root.TryGetProperty("coordinator_pid", out JsonElement pid) ? pid.GetInt32() : 0,
                Cwd = Str(root.GetProperty("cwd")),
                Argv = argv,
                Environment = env,
                Options = options,
                RestoredFrom = root.TryGetProperty("restored_from", out JsonElement rf) && rf.ValueKind == JsonValueKind.Number ? rf.GetInt32() : null,
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            ThrowHelper.ThrowDamaged(dir, $"run record {id} in meta is damaged ({e.Message})");
            return null;
        }
    }

    private static RunRecord DecodeEnd(string dir, RunRecord start, ReadOnlySpan<byte> value)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(value.ToArray());
            JsonElement root = doc.RootElement;
            CheckVersion(dir, start.Id, root);
            return start with
            {
                EndTimeNs = root.GetProperty("end_time_ns").GetInt64(),
                ExitStatus = root.GetProperty("exit_status").GetInt32(),
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            ThrowHelper.ThrowDamaged(dir, $"the end of run record {start.Id} in meta is damaged ({e.Message})");
            return null;
        }
    }

    /// <summary>A JSON string's value; anything else (null included) is damage.</summary>
    private static string Str(JsonElement e) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new FormatException($"a {e.ValueKind} where a string belongs");

    private static void CheckVersion(string dir, ulong id, JsonElement root)
    {
        int v = root.GetProperty("v").GetInt32();
        if (v < 1 || v > FormatVersion)
        {
            ThrowHelper.ThrowDamaged(dir, string.Create(CultureInfo.InvariantCulture, $"run record {id} has version {v}; this scoord reads up to {FormatVersion}"));
        }
    }

    private static void Put(JournalStore store, byte[] key, byte[] value, string action)
    {
        ColumnFamilyHandle meta = store.Family(JournalLayout.MetaFamily);
        var sync = new WriteOptions().SetSync(true);
        try
        {
            store.Db.Put(key, value, meta, sync);
        }
        catch (RocksDbException e)
        {
            ThrowHelper.ThrowRocksDb(store.Directory, action, e);
        }

        GC.KeepAlive(sync);
    }
}
