using FsCheck.Xunit;
using Scoord.Journal.Ring;
using Xunit;

namespace Scoord.Tests.Journal;

/// <summary>
/// The ring drain's per-walk sets (the DONE seqs of a walk and the post-states they supersede) are sorted arrays
/// reused across walks; they must answer exactly as hash sets would, whatever the order of the adds and whatever
/// the previous walk left.
/// </summary>
public class RingWalkStateTests
{
    [Property(MaxTest = 500)]
    public bool Walk_sets_answer_as_hash_sets_in_any_order_and_after_reuse(ulong[] doneA, (ulong, uint)[] supA, ulong[] doneB, (ulong, uint)[] supB, ulong[] probes)
    {
        var walk = new RingReader.WalkState();
        return Walk(walk, doneA ?? [], supA ?? [], probes ?? []) && Walk(walk, doneB ?? [], supB ?? [], probes ?? []);
    }

    [Fact]
    public void A_walk_after_a_larger_one_forgets_its_entries()
    {
        var walk = new RingReader.WalkState();
        walk.Clear();
        for (ulong s = 1; s <= 1000; s++)
        {
            walk.AddDone(s);
            walk.AddSuperseded(s, 2);
        }

        walk.Seal();
        Assert.True(walk.IsDone(500));
        Assert.True(walk.IsSuperseded(500, 2));
        walk.Clear();
        walk.AddDone(2000);
        walk.Seal();
        Assert.False(walk.IsDone(500));
        Assert.False(walk.IsSuperseded(500, 2));
        Assert.True(walk.IsDone(2000));
    }

    private static bool Walk(RingReader.WalkState walk, ulong[] dones, (ulong, uint)[] superseded, ulong[] probes)
    {
        walk.Clear();
        foreach (ulong d in dones)
        {
            walk.AddDone(d);
        }

        foreach ((ulong seq, uint part) in superseded)
        {
            walk.AddSuperseded(seq, part);
        }

        walk.Seal();
        var doneSet = new HashSet<ulong>(dones);
        var supSet = new HashSet<(ulong, uint)>(superseded);
        IEnumerable<ulong> asked = probes.Concat(dones).Concat(superseded.Select(s => s.Item1)).Concat(dones.Select(d => d + 1));
        foreach (ulong p in asked)
        {
            if (walk.IsDone(p) != doneSet.Contains(p))
            {
                return false;
            }
        }

        foreach ((ulong seq, uint part) in superseded.Concat(superseded.Select(s => (s.Item1, s.Item2 + 1))))
        {
            if (walk.IsSuperseded(seq, part) != supSet.Contains((seq, part)))
            {
                return false;
            }
        }

        return true;
    }
}
