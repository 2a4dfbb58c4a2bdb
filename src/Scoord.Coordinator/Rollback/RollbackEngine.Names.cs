using Scoord.Interceptors.Syscalls;
using System.Globalization;
using Scoord.Coordinator.Rollback.Model;
using Scoord.Interceptors;
using Scoord.Journal.Model;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Rollback;

/// <summary>
/// Names: the checkpoint tree is walked top-down (a directory before its entries), and each name is
/// given the object it held at the checkpoint: the object itself moved back from where it is now (a
/// rename keeps its inode, its content and everything inside it), or another name of it linked, or,
/// when it is gone, a body of the same type standing at that name reused, a hard link found on disk
/// (names the journal never saw), or a new object made from the journal. Whatever stands in the way is
/// first moved aside inside the same directory. Then every name that holds something the checkpoint
/// did not have there is removed, deepest first.
/// </summary>
public sealed partial class RollbackEngine
{
    private int _aside;

    private void PlaceNames()
    {
        var targets = new List<(NameSlot Slot, TrackedObject Obj, int Depth)>();
        foreach ((NameSlot slot, TrackedObject? o) in _m.AtCheckpoint)
        {
            if (o is { Original: true })
            {
                targets.Add((slot, o, _m.Depth(slot, checkpoint: true)));
            }
        }

        // Depth by depth, directories before the rest: the regular files made anew at one depth then go to
        // the journal in groups (RollbackEngine.Whole), not one group per directory made between them.
        targets.Sort((a, b) => a.Depth != b.Depth ? a.Depth.CompareTo(b.Depth)
            : a.Obj.IsDirectory != b.Obj.IsDirectory ? (a.Obj.IsDirectory ? -1 : 1)
            : string.CompareOrdinal(a.Slot.Name, b.Slot.Name));
        foreach ((NameSlot slot, TrackedObject o, int depth) in targets)
        {
            Step();
            if (depth == int.MaxValue)
            {
                continue;
            }

            Place(slot, o);
        }

        FlushWhole();
    }

    /// <summary>Gives the checkpoint slot <paramref name="target"/> its checkpoint object <paramref name="o"/>.</summary>
    private void Place(NameSlot target, TrackedObject o)
    {
        NameSlot slot = _live.ToLive(target);
        TrackedObject dir = _m.Get(slot.Dir);
        if (dir.Id != _m.Root.Id && !_live.IsLive(dir))
        {
            return; // its directory could not be put back (reported there)
        }

        TrackedObject phys = _live.Phys(o);
        if (Frozen(slot) || Frozen(phys))
        {
            return;
        }

        TrackedObject? occupant = _live.At(slot);
        if (occupant == phys)
        {
            return;
        }

        // Gone as far as the journal knows, but it had names the journal never saw: it may be alive there.
        string? elsewhere = !_live.IsLive(phys) && o.UnknownNames > 0 && !phys.IsDirectory ? FindOnDisk(o) : null;
        if (occupant is not null)
        {
            if (Frozen(occupant))
            {
                return;
            }

            if (elsewhere is null && !_live.IsLive(phys) && Discardable(occupant) && CanReuse(occupant, o, slot))
            {
                // The object is gone and one of the same kind stands at its name (a file replaced by a
                // new one, a directory made again): it plays the original from now on, and gets the
                // original's content and metadata below.
                _live.Incarnate(o, occupant);
                return;
            }

            if (!MoveAside(slot, occupant))
            {
                return;
            }
        }

        _acted.Add(o.Id);
        if (_live.IsLive(phys))
        {
            NameSlot? extra = null;
            foreach (NameSlot n in _live.NamesOf(phys))
            {
                if (!o.CheckpointNames.Contains(_live.ToCheckpoint(n)))
                {
                    extra = n;
                    break;
                }
            }

            if (extra is { } from)
            {
                MoveName(from, slot, phys);
            }
            else if (!phys.IsDirectory)
            {
                LinkName(_live.NamesOf(phys)[0], slot, phys);
            }
            else
            {
                Error($"cannot put {PathOf(slot)} back: the directory is at {PathOf(_live.NamesOf(phys)[0])}, also a name it had at the checkpoint");
            }

            return;
        }

        if (elsewhere is not null)
        {
            LinkFromDisk(elsewhere, slot, phys);
            return;
        }

        Recreate(slot, o);
    }

    /// <summary>A created or foreign object (not one that plays an original) may be reused or removed.</summary>
    private bool Discardable(TrackedObject phys) => !phys.Original && !_live.IsIncarnation(phys);

    private bool CanReuse(TrackedObject occupant, TrackedObject o, NameSlot slot)
    {
        if (o.AtCheckpoint is null || occupant.Type == 0 || occupant.Type != (o.AtCheckpoint.Mode & S_IFMT))
        {
            return false;
        }

        if (occupant.Type == S_IFLNK)
        {
            // A symlink's target cannot be changed in place: reuse only the same target.
            using SafePath? p = SafePath.Resolve(PathOf(slot) ?? string.Empty, out _);
            return p is not null && ReadLink(p) is { } target && target.AsSpan().SequenceEqual(o.AtCheckpoint.Data);
        }

        return occupant.Type is S_IFREG or S_IFDIR or S_IFIFO or S_IFSOCK;
    }

    /// <summary>Everything the checkpoint did not have at a name goes, deepest first.</summary>
    private void RemoveLeftovers()
    {
        var slots = new List<(NameSlot Slot, int Depth)>();
        foreach (NameSlot s in _live.Slots)
        {
            if (_live.At(s) is not null)
            {
                slots.Add((s, _live.Depth(s)));
            }
        }

        slots.Sort((a, b) => b.Depth.CompareTo(a.Depth));
        foreach ((NameSlot slot, int depth) in slots)
        {
            Step();
            TrackedObject? occupant = _live.At(slot);
            if (occupant is null || depth == int.MaxValue || Frozen(slot))
            {
                continue;
            }

            NameSlot ck = _live.ToCheckpoint(slot);
            bool known = _m.AtCheckpoint.TryGetValue(ck, out TrackedObject? wanted);
            if (wanted is not null && _live.Phys(wanted) == occupant)
            {
                continue;
            }

            bool keptElsewhere = false;
            foreach (NameSlot n in _live.NamesOf(occupant))
            {
                if (n != slot && _m.AtCheckpoint.TryGetValue(_live.ToCheckpoint(n), out TrackedObject? w) && w is not null && _live.Phys(w) == occupant)
                {
                    keptElsewhere = true;
                    break;
                }
            }

            if (!Discardable(occupant) && !keptElsewhere)
            {
                // An original not at a name it had (it could not be put back): left where it is.
                if (known)
                {
                    Error($"cannot put {PathOf(slot)} back where it was at the checkpoint; left at {PathOf(slot)}");
                }

                continue;
            }

            RemoveName(slot, occupant, lastName: _live.NamesOf(occupant).Count == 1);
        }
    }

    // ---- name actions on the live tree ----

    private string? PathOf(NameSlot liveSlot) => _live.PathOf(liveSlot);

    private bool MoveAside(NameSlot slot, TrackedObject occupant)
    {
        FlushWhole(); // what it looks at on disk first may be a file of the queued group
        string? from = PathOf(slot);
        if (from is null)
        {
            return false;
        }

        NameSlot aside;
        string? to;
        do
        {
            aside = new NameSlot(slot.Dir, string.Create(CultureInfo.InvariantCulture, $".scoord-rollback-{Environment.ProcessId}-{++_aside}"));
            to = PathOf(aside);
        }
        while (to is null || (!_dry && Exists(to)));

        if (!RenameNames(from, to, slot, aside, occupant, "move aside"))
        {
            return false;
        }

        _asideFrom[aside] = _asideFrom.TryGetValue(slot, out string? first) ? first : from;
        return true;
    }

    private void MoveName(NameSlot from, NameSlot to, TrackedObject phys)
    {
        FlushWhole(); // what it looks at on disk first may be a file of the queued group
        string? a = PathOf(from), b = PathOf(to);
        if (a is null || b is null)
        {
            return;
        }

        if (phys.IsDirectory && _live.IsInside(to, phys))
        {
            Error($"cannot move {a} back to {b}: that is inside it");
            return;
        }

        if (RenameNames(a, b, from, to, phys, "rename"))
        {
            _result.Renamed++;
        }
    }

    private bool RenameNames(string a, string b, NameSlot from, NameSlot to, TrackedObject phys, string what)
    {
        if (_dry)
        {
            if (what == "rename")
            {
                Plan($"rename {a} -> {b}");
            }

            _live.Set(from, null);
            _live.Set(to, phys);
            return true;
        }

        using SafePath? src = SafePath.Resolve(a, out ResolveStatus s1);
        using SafePath? dst = SafePath.Resolve(b, out ResolveStatus s2);
        if (src is null || dst is null)
        {
            Error($"cannot {what} {a} to {b}: {SafePath.Describe(src is null ? s1 : s2)}");
            return false;
        }

        if (!Expect(src, phys, a))
        {
            return false;
        }

        if (!Rename(src, dst, RENAME_NOREPLACE))
        {
            return false;
        }

        _live.Set(from, null);
        _live.Set(to, phys);
        return true;
    }

    private void LinkName(NameSlot from, NameSlot to, TrackedObject phys)
    {
        FlushWhole(); // what it looks at on disk first may be a file of the queued group
        string? a = PathOf(from), b = PathOf(to);
        if (a is not null && b is not null)
        {
            LinkFromDisk(a, to, phys);
        }
    }

    private void LinkFromDisk(string existing, NameSlot to, TrackedObject phys)
    {
        FlushWhole(); // what it looks at on disk first may be a file of the queued group
        string? b = PathOf(to);
        if (b is null)
        {
            return;
        }

        if (_dry)
        {
            Plan($"link {b} to {existing}");
            _live.Set(to, phys);
            return;
        }

        using SafePath? src = SafePath.Resolve(existing, out ResolveStatus s1);
        using SafePath? dst = SafePath.Resolve(b, out ResolveStatus s2);
        if (src is null || dst is null)
        {
            Error($"cannot link {b} to {existing}: {SafePath.Describe(src is null ? s1 : s2)}");
            return;
        }

        if (Expect(src, phys, existing) && Link(src, dst))
        {
            _live.Set(to, phys);
            _result.Recreated++;
        }
    }

    /// <summary>Makes the original <paramref name="o"/> anew at <paramref name="slot"/> from its checkpoint state (content follows later).</summary>
    private void Recreate(NameSlot slot, TrackedObject o)
    {
        string? path = PathOf(slot);
        if (path is null)
        {
            return;
        }

        if (o.AtCheckpoint is not { } state)
        {
            Error($"cannot recreate {path}: the journal holds no state of it");
            return;
        }

        uint mode = state.Mode;
        if ((mode & S_IFMT) is S_IFCHR or S_IFBLK)
        {
            Error($"cannot recreate {path}: a device node's device number is not in the journal");
            return;
        }

        if (_dry)
        {
            Plan("recreate " + path);
            _live.Set(slot, o);
            _recreated.Add(o.Id);
            return;
        }

        SafePath? resolved = SafePath.Resolve(path, out ResolveStatus status);
        if (resolved is null)
        {
            Error($"cannot recreate {path}: {SafePath.Describe(status)}");
            return;
        }

        if ((mode & S_IFMT) == S_IFREG && QueueWhole(resolved, slot, o, state))
        {
            return; // made with the next group (the queue owns the path now)
        }

        using SafePath p = resolved;
        bool ok;
        switch (mode & S_IFMT)
        {
            case S_IFDIR:
                ok = Create(OpCode.Mkdirat, p, mode & 0xFFF, null);
                break;
            case S_IFLNK:
                ok = Create(OpCode.Symlinkat, p, 0, state.Data);
                break;
            case S_IFREG:
                int fd = CreateFile(p, mode & 0xFFF);
                ok = fd >= 0;
                if (ok)
                {
                    close(fd);
                }

                break;
            default:
                ok = Create(OpCode.Mknodat, p, mode, null);
                break;
        }

        if (ok && p.TryLstat(out Interop.Stat now))
        {
            Recreated(slot, o, IdOf(now));
        }
    }

    /// <summary>The model after <paramref name="o"/> was made again at <paramref name="slot"/> as <paramref name="id"/>.</summary>
    private void Recreated(NameSlot slot, TrackedObject o, FileId id)
    {
        Recreated(o, id);
        _live.Set(slot, o);
        _recreated.Add(o.Id);
        _result.Recreated++;
    }

    /// <summary>The identity the made-again <paramref name="o"/> has on disk.</summary>
    private void Recreated(TrackedObject o, FileId id)
    {
        if (o.Disk.IsKnown && _m.ById.TryGetValue(o.Disk, out TrackedObject? old) && old == o)
        {
            _m.ById.Remove(o.Disk);
        }

        o.Disk = id;
        _m.ById[id] = o;
    }

    /// <summary>Removes one name; the object itself (and, for a directory, whatever is inside) when it is its last.</summary>
    private void RemoveName(NameSlot slot, TrackedObject phys, bool lastName)
    {
        FlushWhole(); // what it looks at on disk first may be a file of the queued group
        string? path = PathOf(slot);
        if (path is null)
        {
            return;
        }

        if (_dry)
        {
            Plan("remove " + (_asideFrom.TryGetValue(slot, out string? from) ? from : path));
            _live.Set(slot, null);
            return;
        }

        using SafePath? p = SafePath.Resolve(path, out ResolveStatus status);
        if (p is null)
        {
            if (status != ResolveStatus.ParentMissing)
            {
                Error($"cannot remove {path}: {SafePath.Describe(status)}");
            }

            return;
        }

        if (!Expect(p, phys, path))
        {
            return;
        }

        if (lastName && phys.IsDirectory && _force)
        {
            RemoveUnknownEntries(p); // --force: entries nobody journaled go too (each kept whole in the journal)
        }

        if (Remove(p, out bool notEmpty))
        {
            _live.Set(slot, null);
            _result.Removed++;
        }
        else if (notEmpty)
        {
            Conflict($"{path} holds entries the journal does not know, so it cannot be removed");
        }
    }

    /// <summary>--force: removes, bottom-up, everything inside a directory that the rollback removes.</summary>
    private void RemoveUnknownEntries(SafePath dir)
    {
        string path = dir.Full;
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(path).ToArray();
        }
        catch (IOException)
        {
            return;
        }
        catch (UnauthorizedAccessException)
        {
            return;
        }

        foreach (string e in entries)
        {
            using SafePath? child = SafePath.Resolve(e, out _);
            if (child is null || !child.TryLstat(out Interop.Stat st))
            {
                continue;
            }

            if (IsDir(st.st_mode))
            {
                RemoveUnknownEntries(child);
            }

            Remove(child, out _);
        }
    }

    /// <summary>The object at <paramref name="p"/> is the one the live tree has there (never act on another inode).</summary>
    private bool Expect(SafePath p, TrackedObject phys, string path)
    {
        if (!p.TryLstat(out Interop.Stat st))
        {
            Error($"cannot change {path}: it does not exist any more");
            return false;
        }

        if (phys.Disk.IsKnown ? IdOf(st) != phys.Disk : phys.Type != 0 && (st.st_mode & S_IFMT) != phys.Type)
        {
            Error(string.Create(CultureInfo.InvariantCulture, $"cannot change {path}: it is not the object the journal recorded (inode {st.st_ino}, expected {phys.Disk.Ino}); not touched"));
            return false;
        }

        if (!phys.Disk.IsKnown)
        {
            phys.Disk = IdOf(st);
        }

        return true;
    }

    private static bool Exists(string path)
    {
        using SafePath? p = SafePath.Resolve(path, out _);
        return p is not null && p.TryLstat(out _);
    }

    private static unsafe byte[]? ReadLink(SafePath p)
    {
        byte[] buf = new byte[4097];
        nint n;
        fixed (byte* s = p.StatPath)
        fixed (byte* b = buf)
        {
            n = readlink(s, b, (nuint)buf.Length);
        }

        return n < 0 ? null : buf[..(int)n];
    }

    /// <summary>
    /// A name of <paramref name="o"/> the journal never saw (its link count said it had one): looked for by
    /// identity in the directories of its known names, then in the tree the journal covers, same device.
    /// </summary>
    private string? FindOnDisk(TrackedObject o)
    {
        if (!o.Disk.IsKnown)
        {
            return null;
        }

        var roots = new List<string>();
        foreach (NameSlot s in o.CheckpointNames)
        {
            if (_live.PathOf(_live.ToLive(s)) is { } p && Path.GetDirectoryName(p) is { } d)
            {
                roots.Add(d);
            }
        }

        if (CommonDirectory() is { } top)
        {
            // The tree the journal covers, then up to two levels above it (the other name is often in a
            // sibling tree: `cp -al src dst`, then only dst is touched).
            roots.Add(top);
            for (int up = 0; up < 2 && Path.GetDirectoryName(roots[^1]) is { } parent; up++)
            {
                roots.Add(parent);
            }
        }

        // The directories of its known names first (cheap, and where `ln a b` puts the other name), then
        // the whole tree the journal covers.
        int budget = 200_000;
        int shallow = roots.Count - (CommonDirectory() is null ? 0 : Math.Min(3, roots.Count));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var deepSeen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < roots.Count; i++)
        {
            bool deep = i >= shallow;
            if (Search(roots[i], o.Disk, deep ? deepSeen : seen, ref budget, depthLeft: deep ? 64 : 0) is { } found)
            {
                return found;
            }
        }

        return null;
    }

    private static unsafe string? Search(string dir, FileId id, HashSet<string> seen, ref int budget, int depthLeft)
    {
        if (!seen.Add(dir) || budget <= 0)
        {
            return null;
        }

        string[] entries;
        try
        {
            entries = Directory.GetFileSystemEntries(dir);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        var subdirs = new List<string>();
        foreach (string e in entries)
        {
            if (--budget <= 0)
            {
                return null;
            }

            byte[] path = [.. System.Text.Encoding.UTF8.GetBytes(e), 0];
            Interop.Stat st;
            fixed (byte* p = path)
            {
                if (fstatat(AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW) != 0)
                {
                    continue;
                }
            }

            if (st.st_dev == id.Dev && st.st_ino == id.Ino)
            {
                return e;
            }

            if (IsDir(st.st_mode) && st.st_dev == id.Dev)
            {
                subdirs.Add(e);
            }
        }

        if (depthLeft > 0)
        {
            foreach (string d in subdirs)
            {
                if (Search(d, id, seen, ref budget, depthLeft - 1) is { } found)
                {
                    return found;
                }
            }
        }

        return null;
    }

    /// <summary>The deepest directory every name the journal touched is under.</summary>
    private string? CommonDirectory()
    {
        string? common = null;
        foreach ((NameSlot s, TrackedObject? o) in _m.Current)
        {
            if (o is { Implicit: true })
            {
                continue; // only a directory on the way to what the journal touched
            }

            string? p = _m.PathOf(s, checkpoint: false);
            string? d = p is null ? null : Path.GetDirectoryName(p);
            if (d is null)
            {
                continue;
            }

            if (common is null)
            {
                common = d;
                continue;
            }

            while (common.Length > 1 && !JournalPaths.Under(d, common))
            {
                common = Path.GetDirectoryName(common) ?? "/";
            }
        }

        return common;
    }
}

/// <summary>Path prefix tests on absolute paths.</summary>
internal static class JournalPaths
{
    /// <summary>True when <paramref name="path"/> is <paramref name="dir"/> or below it.</summary>
    public static bool Under(string path, string dir)
    {
        if (dir == "/")
        {
            return path.StartsWith('/');
        }

        return path.StartsWith(dir, StringComparison.Ordinal) && (path.Length == dir.Length || path[dir.Length] == '/');
    }
}
