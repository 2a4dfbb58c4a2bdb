using Scoord.Journal;
using Scoord.Journal.Undo;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Rollback.Model;

/// <summary>Something the journal shows that only a change outside it explains (or a path the model cannot follow).</summary>
internal sealed record ModelAnomaly(ulong Seq, string Path, string What);

/// <summary>
/// What the journal says about the files between a checkpoint and now, as two trees over the same
/// objects: the checkpoint tree (which object each name held at the checkpoint) and the current tree
/// (which object each name holds now), both known only for the names the journal touched. Names are
/// slots (directory object, entry name), so a renamed directory carries its entries without anything
/// else changing. Built by <see cref="ModelBuilder"/> from the operations after the checkpoint in
/// journal order (docs/undo-model.md, "The model"). Rollback makes the current tree equal to the
/// checkpoint tree; diff lists where they differ.
/// </summary>
internal sealed class CheckpointModel
{
    private const int MaxDepth = 4096;

    private readonly List<TrackedObject> _objects = new();

    public CheckpointModel(ulong checkpointSeq)
    {
        CheckpointSeq = checkpointSeq;
        var root = new TrackedObject(0, ObjectOrigin.Original) { Type = S_IFDIR, Implicit = true };
        _objects.Add(root);
    }

    public ulong CheckpointSeq { get; }

    public TrackedObject Root => _objects[0];

    public IReadOnlyList<TrackedObject> Objects => _objects;

    /// <summary>Each name the journal touched: the object it holds now (null: known to be absent).</summary>
    public Dictionary<NameSlot, TrackedObject?> Current { get; } = new();

    /// <summary>Each name the journal touched: the object it held at the checkpoint (null: absent).</summary>
    public Dictionary<NameSlot, TrackedObject?> AtCheckpoint { get; } = new();

    /// <summary>The object each identity on disk belongs to now (the newest object given that inode number).</summary>
    public Dictionary<FileId, TrackedObject> ById { get; } = new();

    /// <summary>Outside changes seen inside the history (reported as conflicts).</summary>
    public List<ModelAnomaly> Anomalies { get; } = new();

    /// <summary>Operations read (after the checkpoint).</summary>
    public int OperationCount { get; set; }

    /// <summary>The reader the model came from (bytes of pre-images are fetched from it when needed).</summary>
    public JournalReader? Reader { get; set; }

    public TrackedObject Add(ObjectOrigin origin)
    {
        var o = new TrackedObject(_objects.Count, origin);
        _objects.Add(o);
        return o;
    }

    public TrackedObject Get(int id) => _objects[id];

    /// <summary>The absolute path of a directory object in one of the trees; null when it has no name there.</summary>
    public string? DirectoryPath(TrackedObject dir, bool checkpoint)
    {
        var parts = new List<string>();
        TrackedObject cur = dir;
        for (int depth = 0; cur.Id != Root.Id; depth++)
        {
            List<NameSlot> names = checkpoint ? cur.CheckpointNames : cur.CurrentNames;
            if (names.Count == 0 || depth > MaxDepth)
            {
                return null;
            }

            NameSlot s = names[0];
            parts.Add(s.Name);
            cur = _objects[s.Dir];
        }

        if (parts.Count == 0)
        {
            return "/";
        }

        parts.Reverse();
        return "/" + string.Join('/', parts);
    }

    /// <summary>The absolute path of a slot in one of the trees; null when its directory has no name there.</summary>
    public string? PathOf(NameSlot slot, bool checkpoint)
    {
        string? dir = DirectoryPath(_objects[slot.Dir], checkpoint);
        return dir is null ? null : dir == "/" ? "/" + slot.Name : dir + "/" + slot.Name;
    }

    /// <summary>Depth of a slot in a tree (1 = an entry of "/"); int.MaxValue when it has no path there.</summary>
    public int Depth(NameSlot slot, bool checkpoint)
    {
        int depth = 1;
        TrackedObject cur = _objects[slot.Dir];
        while (cur.Id != Root.Id)
        {
            List<NameSlot> names = checkpoint ? cur.CheckpointNames : cur.CurrentNames;
            if (names.Count == 0 || depth > MaxDepth)
            {
                return int.MaxValue;
            }

            depth++;
            cur = _objects[names[0].Dir];
        }

        return depth;
    }

    /// <summary>A readable dump of every object (SCOORD_DEBUG_MODEL=1 prints it to stderr; for debugging the model).</summary>
    public string Dump()
    {
        var sb = new System.Text.StringBuilder();
        foreach (TrackedObject o in _objects)
        {
            sb.Append(o).Append(" type ").Append(Convert.ToString(o.Type, 8))
                .Append(" ckpt [").AppendJoin(", ", o.CheckpointNames.Select(s => PathOf(s, true))).Append(']')
                .Append(" now [").AppendJoin(", ", o.CurrentNames.Select(s => PathOf(s, false))).Append(']')
                .Append(" sources [").AppendJoin(", ", o.Sources.Select(s => s.Whole ? $"whole@{s.Seq}" : $"{s.Items[0].Offset}+{s.Items[0].Length}@{s.Seq}")).Append(']');
            if (o.UnknownNames > 0)
            {
                sb.Append(" unknown-names ").Append(o.UnknownNames);
            }

            if (o.AtCheckpoint is { } a)
            {
                sb.Append(" size@ckpt ").Append(a.Size).Append(" from seq ").Append(a.Seq);
            }

            sb.AppendLine();
        }

        foreach (ModelAnomaly a in Anomalies)
        {
            sb.Append("anomaly ").Append(a.Seq).Append(' ').Append(a.Path).Append(' ').AppendLine(a.What);
        }

        return sb.ToString();
    }

    /// <summary>Splits an absolute path into its names ("/a/b" -> a, b); false for a relative or empty path.</summary>
    public static bool TrySplit(string? path, out List<string> parts)
    {
        parts = new List<string>();
        if (string.IsNullOrEmpty(path) || path[0] != '/')
        {
            return false;
        }

        foreach (string p in path.Split('/'))
        {
            if (p.Length == 0 || p == ".")
            {
                continue;
            }

            if (p == "..")
            {
                return false;
            }

            parts.Add(p);
        }

        return parts.Count > 0;
    }
}
