using Xunit;

// libtorch keeps process-wide state that these tests set: the global random generator (torch.manual_seed before a
// network is built), the intra-op thread count and deterministic flags. Test classes running in parallel would draw
// from one another's seeded stream, and the bitwise resume-equality tests would then compare runs that did not start
// from the same weights; libtorch calls from two test threads at once have also been seen to fail inside TorchSharp's
// scalar handling. One class at a time keeps every test's seed its own.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
