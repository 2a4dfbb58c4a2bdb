using Scoord.Coordinator.Rollback.Model;

namespace Scoord.Coordinator.Rollback;

/// <summary>
/// The names the journal touched as they are on disk while a rollback (or a dry run, or a diff) works
/// through them: it starts as the model's current tree (checked against the disk first) and follows
/// every change the rollback makes. Objects here are physical: when an original object that is gone
/// is given a body again by reusing an object that stands at its name (a file replaced by a new one,
/// a directory removed and made again), <see cref="Incarnate"/> records that the physical object now
/// plays the original, and the original's checkpoint names map onto the physical object's entries.
/// </summary>
internal sealed class LiveTree
{
    private readonly CheckpointModel _m;
    private readonly Dictionary<NameSlot, TrackedObject?> _slots;
    private readonly Dictionary<int, List<NameSlot>> _names = new();
    private readonly Dictionary<int, TrackedObject> _incarnation = new();
    private readonly Dictionary<int, TrackedObject> _logical = new();

    public LiveTree(CheckpointModel model)
    {
        _m = model;
        _slots = new Dictionary<NameSlot, TrackedObject?>(model.Current);
        foreach ((NameSlot slot, TrackedObject? o) in _slots)
        {
            if (o is not null)
            {
                Names(o).Add(slot);
            }
        }
    }

    public IEnumerable<NameSlot> Slots => _slots.Keys;

    /// <summary>The physical object that stands for <paramref name="o"/> (itself unless it was incarnated).</summary>
    public TrackedObject Phys(TrackedObject o) => _incarnation.TryGetValue(o.Id, out TrackedObject? p) ? p : o;

    /// <summary>The model object a physical object stands for (itself unless it incarnates an original).</summary>
    public TrackedObject Logical(TrackedObject phys) => _logical.TryGetValue(phys.Id, out TrackedObject? o) ? o : phys;

    public bool IsIncarnation(TrackedObject phys) => _logical.ContainsKey(phys.Id);

    /// <summary>A slot of the checkpoint tree as a slot of this tree (its directory may be played by another object).</summary>
    public NameSlot ToLive(NameSlot checkpointSlot) => new(Phys(_m.Get(checkpointSlot.Dir)).Id, checkpointSlot.Name);

    /// <summary>The slot of the checkpoint tree a slot of this tree stands for.</summary>
    public NameSlot ToCheckpoint(NameSlot liveSlot) => new(Logical(_m.Get(liveSlot.Dir)).Id, liveSlot.Name);

    public TrackedObject? At(NameSlot slot) => _slots.TryGetValue(slot, out TrackedObject? o) ? o : null;

    public bool Knows(NameSlot slot) => _slots.ContainsKey(slot);

    public IReadOnlyList<NameSlot> NamesOf(TrackedObject phys) => _names.TryGetValue(phys.Id, out List<NameSlot>? n) ? n : [];

    public bool IsLive(TrackedObject phys) => NamesOf(phys).Count > 0;

    /// <summary>Puts <paramref name="o"/> at <paramref name="slot"/>, or empties it (null).</summary>
    public void Set(NameSlot slot, TrackedObject? o)
    {
        if (_slots.TryGetValue(slot, out TrackedObject? old) && old is not null)
        {
            Names(old).Remove(slot);
        }

        _slots[slot] = o;
        if (o is not null && !Names(o).Contains(slot))
        {
            Names(o).Add(slot);
        }
    }

    /// <summary>From now on <paramref name="phys"/> stands for the original <paramref name="original"/>.</summary>
    public void Incarnate(TrackedObject original, TrackedObject phys)
    {
        _incarnation[original.Id] = phys;
        _logical[phys.Id] = original;
    }

    /// <summary>The absolute path of a slot of this tree; null when a directory on the way has no name.</summary>
    public string? PathOf(NameSlot slot)
    {
        var parts = new List<string> { slot.Name };
        TrackedObject dir = _m.Get(slot.Dir);
        for (int depth = 0; dir.Id != _m.Root.Id; depth++)
        {
            IReadOnlyList<NameSlot> names = NamesOf(dir);
            if (names.Count == 0 || depth > 4096)
            {
                return null;
            }

            parts.Add(names[0].Name);
            dir = _m.Get(names[0].Dir);
        }

        parts.Reverse();
        return "/" + string.Join('/', parts);
    }

    /// <summary>Depth of a slot in this tree (1 = an entry of "/"); int.MaxValue when it has no path.</summary>
    public int Depth(NameSlot slot)
    {
        int depth = 1;
        TrackedObject dir = _m.Get(slot.Dir);
        while (dir.Id != _m.Root.Id)
        {
            IReadOnlyList<NameSlot> names = NamesOf(dir);
            if (names.Count == 0 || depth > 4096)
            {
                return int.MaxValue;
            }

            depth++;
            dir = _m.Get(names[0].Dir);
        }

        return depth;
    }

    /// <summary>True when <paramref name="slot"/> lies inside the directory <paramref name="dir"/> (at any depth).</summary>
    public bool IsInside(NameSlot slot, TrackedObject dir)
    {
        TrackedObject cur = _m.Get(slot.Dir);
        for (int depth = 0; depth < 4096; depth++)
        {
            if (cur.Id == dir.Id)
            {
                return true;
            }

            if (cur.Id == _m.Root.Id)
            {
                return false;
            }

            IReadOnlyList<NameSlot> names = NamesOf(cur);
            if (names.Count == 0)
            {
                return false;
            }

            cur = _m.Get(names[0].Dir);
        }

        return false;
    }

    private List<NameSlot> Names(TrackedObject o)
    {
        if (!_names.TryGetValue(o.Id, out List<NameSlot>? list))
        {
            _names[o.Id] = list = new List<NameSlot>();
        }

        return list;
    }
}
