using Sgnas.Distributed;

namespace Sgnas.Core.Tests.Distributed;

/// <summary>Sharding, bucketing, launch detection and gathering order, without MPI (docs/distributed.md §2, §5).</summary>
public sealed class DistributedArithmeticTests
{
    [Theory]
    [InlineData(32, 2)]
    [InlineData(33, 2)]
    [InlineData(10, 3)]
    [InlineData(7, 7)]
    [InlineData(256, 64)]
    public void ShardsTileTheBatchAndTheirWeightsSumToOne(int batch, int size)
    {
        int next = 0;
        double weights = 0;
        for (int r = 0; r < size; r++)
        {
            var s = BatchShard.Of(batch, r, size);
            Assert.Equal(next, s.Start);
            Assert.InRange(s.Count, batch / size, batch / size + 1);
            Assert.Equal((double)s.Count / batch, s.Weight, 15);
            next += s.Count;
            weights += s.Weight;
        }
        Assert.Equal(batch, next);
        Assert.Equal(1.0, weights, 12);
    }

    [Fact]
    public void WeightedShardMeansGiveTheGlobalMean()
    {
        // Σ_r (n_r/B)·mean_r = global mean: the identity the gradient weights rely on (uneven shards included).
        var values = Enumerable.Range(0, 11).Select(i => Math.Sin(i) * 3 + i).ToArray();
        double sum = 0;
        for (int r = 0; r < 3; r++)
        {
            var s = BatchShard.Of(values.Length, r, 3);
            sum += s.Weight * values.Skip(s.Start).Take(s.Count).Average();
        }
        Assert.Equal(values.Average(), sum, 12);
    }

    [Fact]
    public void TooSmallABatchOrABadRankIsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchShard.Of(1, 0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchShard.Of(8, 2, 2));
    }

    [Fact]
    public void RoundRobinCoversEveryItemOnce()
    {
        var all = Enumerable.Range(0, 3).SelectMany(r => BatchShard.RoundRobin(10, r, 3)).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, 10), all);
        Assert.Equal(new[] { 1, 4, 7 }, BatchShard.RoundRobin(10, 1, 3));
    }

    [Fact]
    public void BucketsKeepOrderStayUnderCapacityAndIsolateLargeTensors()
    {
        long[] counts = [10, 20, 30, 100, 5, 5, 40];
        var plan = GradientBuckets.Plan(counts, 50);
        Assert.Equal(new[] { (0, 2, 30L), (2, 1, 30L), (3, 1, 100L), (4, 3, 50L) }, plan);
        // Consecutive and complete.
        Assert.Equal(counts.Length, plan.Sum(b => b.Count));
        Assert.Equal(counts.Sum(), plan.Sum(b => b.Elements));
        Assert.All(plan.Where(b => b.Count > 1), b => Assert.True(b.Elements <= 50));
        Assert.Empty(GradientBuckets.Plan([], 50));
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientBuckets.Plan(counts, 0));
    }

    [Fact]
    public void TheDefaultBucketHoldsASupernetInFewCalls()
    {
        // 25 MB of float32 = 6,553,600 elements: a 5.3 M-parameter network fits one bucket.
        Assert.Single(GradientBuckets.Plan(Enumerable.Repeat(53_000L, 100).ToArray(), GradientBuckets.DefaultBytes / 4));
    }

    [Fact]
    public void LaunchIsReadFromOpenMpiVariablesAndAbsentOtherwise()
    {
        var env = new Dictionary<string, string>
        {
            ["OMPI_COMM_WORLD_RANK"] = "3", ["OMPI_COMM_WORLD_SIZE"] = "8", ["OMPI_COMM_WORLD_LOCAL_RANK"] = "1", ["OMPI_COMM_WORLD_LOCAL_SIZE"] = "4",
        };
        var l = MpiLaunch.Detect(k => env.GetValueOrDefault(k));
        Assert.Equal((3, 8, 1, 4), (l!.Rank, l.Size, l.LocalRank, l.LocalSize));
        Assert.Null(MpiLaunch.Detect(_ => null));
        env[MpiLaunch.DisableVariable] = "0";
        Assert.Null(MpiLaunch.Detect(k => env.GetValueOrDefault(k)));
        env.Remove(MpiLaunch.DisableVariable);
        env["OMPI_COMM_WORLD_RANK"] = "8";
        Assert.Throws<InvalidOperationException>(() => MpiLaunch.Detect(k => env.GetValueOrDefault(k)));
    }

    [Fact]
    public void SlurmPmixLaunchIsRead()
    {
        var env = new Dictionary<string, string> { ["PMIX_RANK"] = "5", ["SLURM_NTASKS"] = "16", ["SLURM_LOCALID"] = "1", ["SLURM_NTASKS_PER_NODE"] = "4(x4)" };
        var l = MpiLaunch.Detect(k => env.GetValueOrDefault(k))!;
        Assert.Equal((5, 16, 1, 4), (l.Rank, l.Size, l.LocalRank, l.LocalSize));
    }

    [Fact]
    public void ScatterGathersResultsInInputOrderAcrossSimulatedRanks()
    {
        // Two ranks simulated in one process: each computes its round-robin items; the all-gather is the concatenation.
        var fake = new TwoRankGather();
        var rank0 = CandidateScatter.Map(5, 2, i => [i, i * i], fake.For(0));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => new double[] { i, i * i }), rank0);
    }

    [Fact]
    public void AloneEveryCollectiveIsTheIdentity()
    {
        var c = SingleProcessCommunicator.Instance;
        Span<double> v = [1.5, 2];
        c.AllReduceSum(v);
        Assert.Equal(new[] { 1.5, 2 }, v.ToArray());
        Assert.Equal([4, 5], c.AllGather([4, 5])[0]);
    }

    /// <summary>A communicator whose all-gather returns what rank 1 would have sent (items 1, 3, …) beside rank 0's.</summary>
    private sealed class TwoRankGather
    {
        public ICommunicator For(int rank) => new Fake(rank);

        private sealed class Fake(int rank) : ICommunicator
        {
            public int Rank => rank;
            public int Size => 2;
            public int LocalRank => rank;
            public int LocalSize => 2;
            public void AllReduceSum(Span<float> buffer) => throw new NotSupportedException();
            public void AllReduceSum(Span<double> buffer) => throw new NotSupportedException();
            public void AllReduceSum(Span<long> buffer) => throw new NotSupportedException();
            public void AllReduceSumFloat(IntPtr buffer, int count) => throw new NotSupportedException();
            public byte[][] AllGather(ReadOnlySpan<byte> local)
            {
                var other = BatchShard.RoundRobin(5, 1 - rank, 2).SelectMany(i => new double[] { i, i * i }).ToArray();
                var otherBytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(other.AsSpan()).ToArray();
                return rank == 0 ? [local.ToArray(), otherBytes] : [otherBytes, local.ToArray()];
            }
            public byte[] Broadcast(byte[]? data, int root = 0) => throw new NotSupportedException();
            public void Barrier() { }
            public void Abort(int code) => throw new NotSupportedException();
            public void Dispose() { }
        }
    }
}
