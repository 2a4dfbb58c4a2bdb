using System.Globalization;
using Scoord.Coordinator.Rollback.Model;
using Scoord.Interceptors;
using Scoord.Journal.Undo;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Rollback;

/// <summary>
/// Conflicts: every name the journal touched is compared with the disk now, by what the journal says it
/// should hold now (the model's current tree) and the state the last operation on that object left:
/// existence, identity, type and mode, owner, and for non-directories size, mtime and ctime (a
/// directory's times and size change with its entries, which are checked on their own). Objects an
/// operation of unknown outcome touched (pending after a crash, a live writable mapping) are not
/// compared. Outside changes the journal itself saw on the way (a name that held something the journal
/// did not put there) are conflicts too. Without --force every conflict is left alone (with what depends
/// on it); with --force the live tree is made to match the disk, and the rest of the rollback then gives
/// the checkpoint's state over it.
/// </summary>
public sealed partial class RollbackEngine
{
    private void Verify()
    {
        var stateChecked = new HashSet<int>();
        foreach ((NameSlot slot, TrackedObject? expected) in _m.Current.ToArray())
        {
            Step();
            string? path = _m.PathOf(slot, checkpoint: false);
            if (path is null)
            {
                continue; // inside a directory that is gone: its own name is checked
            }

            using SafePath? sp = SafePath.Resolve(path, out ResolveStatus status);
            Interop.Stat st = default;
            bool exists = sp is not null && sp.TryLstat(out st);
            if (sp is null)
            {
                // A missing directory on the way is reported (and, with --force, emptied) at its own name.
                if (status is not ResolveStatus.ParentMissing && expected is not null)
                {
                    NameConflict(slot, expected, default, default, $"{path} changed outside the journal (a directory of its path was replaced by a non-directory)");
                }

                continue;
            }

            FileId found = exists ? IdOf(st) : default;
            if (expected is null)
            {
                if (exists)
                {
                    NameConflict(slot, null, found, st, $"{path} was created outside the journal");
                }

                continue;
            }

            if (!exists)
            {
                NameConflict(slot, expected, default, default, $"{path} was removed outside the journal");
                continue;
            }

            uint type = st.st_mode & S_IFMT;
            // A reused inode number is not the same object when its type changed (a directory removed outside
            // and a symlink made at once often gets the directory's inode number).
            if ((expected.Disk.IsKnown && expected.Disk != found) || (expected.Type != 0 && expected.Type != type))
            {
                NameConflict(slot, expected, found, st, string.Create(CultureInfo.InvariantCulture, $"{path} was replaced outside the journal (inode {expected.Disk.Ino} -> {found.Ino})"));
                continue;
            }

            if (!expected.Disk.IsKnown)
            {
                // A directory only met on the way to other names: now its identity is known.
                expected.Disk = found;
                _m.ById.TryAdd(found, expected);
            }

            expected.Type = type;
            if (stateChecked.Add(expected.Id) && !expected.StateUnknown && expected.LastPost is { } post
                && Compare(post, st, expected.CtimeUnknown) is { } diff)
            {
                StateConflict(expected, $"{path} changed outside the journal ({diff})");
            }
        }

        foreach (ModelAnomaly a in _m.Anomalies)
        {
            Conflict($"{a.Path} {a.What} (a change outside the journal while the program ran, seen at seq {a.Seq.ToString(CultureInfo.InvariantCulture)})");
            if (!_force && CheckpointModel.TrySplit(a.Path, out _))
            {
                // Leave the name alone: the journal no longer knows what it held between then and now.
                foreach ((NameSlot slot, _) in _m.Current)
                {
                    if (_m.PathOf(slot, checkpoint: false) == a.Path)
                    {
                        _frozenSlots.Add(slot);
                        if (_live.At(slot) is { } o)
                        {
                            _frozenObjects.Add(o.Id);
                        }
                    }
                }
            }
        }
    }

    private void Conflict(string message, TrackedObject? about = null)
    {
        if (about is not null)
        {
            _conflictLine[about.Id] = _result.Conflicts.Count;
        }

        _result.Conflicts.Add("conflict: " + message + (_force ? " (restored: --force)" : " (left alone)"));
        if (!_force)
        {
            _result.ConflictsLeftAlone++;
        }
    }

    /// <summary>The name holds something else than the journal says (or nothing, or something where it says nothing).</summary>
    private void NameConflict(NameSlot slot, TrackedObject? expected, FileId found, in Interop.Stat st, string message)
    {
        Conflict(message, expected);
        if (!_force)
        {
            _frozenSlots.Add(slot);
            if (expected is not null)
            {
                _frozenObjects.Add(expected.Id);
            }

            return;
        }

        // --force: the disk is what the rollback starts from.
        if (expected is not null)
        {
            _outsideChanged.Add(expected.Id);
        }

        TrackedObject? onDisk = null;
        if (found.IsKnown)
        {
            if (!_m.ById.TryGetValue(found, out onDisk))
            {
                onDisk = _m.Add(ObjectOrigin.Foreign);
                onDisk.Disk = found;
                onDisk.Type = st.st_mode & S_IFMT;
                _m.ById[found] = onDisk;
            }
        }

        _live.Set(slot, onDisk);
        if (expected is not null && expected.IsDirectory && !_live.IsLive(expected))
        {
            ClearSubtree(expected);
        }
    }

    /// <summary>A directory that is gone took its entries with it.</summary>
    private void ClearSubtree(TrackedObject dir)
    {
        foreach (NameSlot s in _live.Slots.Where(s => s.Dir == dir.Id).ToArray())
        {
            TrackedObject? o = _live.At(s);
            _live.Set(s, null);
            if (o is not null && o.IsDirectory && !_live.IsLive(o))
            {
                ClearSubtree(o);
            }
        }
    }

    /// <summary>The object is where the journal says, but its state is not the one the journal left.</summary>
    private void StateConflict(TrackedObject o, string message)
    {
        Conflict(message, o);
        if (_force)
        {
            _outsideChanged.Add(o.Id);
        }
        else
        {
            _frozenObjects.Add(o.Id);
        }
    }

    private static string? Compare(UndoItem e, in Interop.Stat st, bool ctimeUnknown)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        var d = new List<string>();
        bool dir = (e.Mode & S_IFMT) == S_IFDIR;
        if (e.Mode != st.st_mode)
        {
            d.Add(string.Create(c, $"mode {Convert.ToString(e.Mode & 0xFFFF, 8)} -> {Convert.ToString(st.st_mode & 0xFFFF, 8)}"));
        }

        if (e.Uid != st.st_uid || e.Gid != st.st_gid)
        {
            d.Add(string.Create(c, $"owner {e.Uid}:{e.Gid} -> {st.st_uid}:{st.st_gid}"));
        }

        if (!dir)
        {
            if (e.Size != st.st_size)
            {
                d.Add(string.Create(c, $"size {e.Size} -> {st.st_size}"));
            }

            long mtime = (st.st_mtime_sec * 1_000_000_000) + st.st_mtime_nsec;
            long ctime = (st.st_ctime_sec * 1_000_000_000) + st.st_ctime_nsec;
            if (e.MtimeNs != mtime)
            {
                d.Add("mtime");
            }
            else if (!ctimeUnknown && e.CtimeNs != ctime)
            {
                d.Add("ctime");
            }
        }

        return d.Count == 0 ? null : string.Join(", ", d);
    }
}
