namespace Scoord.Journal.Memory;

/// <summary>What <see cref="MemoryImagePruner.Plan"/> put into prune's batch: images made full, images deleted, pages deleted.</summary>
public sealed record ImagePruneResult(int ImagesMerged, int ImagesDropped, long PagesDropped);
