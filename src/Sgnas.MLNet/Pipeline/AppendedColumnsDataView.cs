using Microsoft.ML;
using Microsoft.ML.Data;

namespace Sgnas.MLNet.Pipeline;

/// <summary>A column whose values were computed for every input row in advance (e.g. by one batched pass).</summary>
internal sealed record PrecomputedColumn(string Name, DataViewType Type, Array Values);

/// <summary>
/// The input view with extra columns appended, read from arrays indexed by row position. Used where a whole column
/// is computed in one batched pass (the generator: all targets in one forward). Row order must be stable, so the
/// view does not shuffle.
/// </summary>
internal sealed class AppendedColumnsDataView : IDataView
{
    private readonly IDataView _input;
    private readonly PrecomputedColumn[] _extra;

    public AppendedColumnsDataView(IDataView input, IReadOnlyList<PrecomputedColumn> extra)
    {
        _input = input;
        _extra = extra.ToArray();
        var b = new DataViewSchema.Builder();
        b.AddColumns(input.Schema);
        foreach (var c in _extra) b.AddColumn(c.Name, c.Type);
        Schema = b.ToSchema();
    }

    public bool CanShuffle => false;
    public DataViewSchema Schema { get; }
    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.ToList();
        int n = _input.Schema.Count;
        var inner = needed.Where(c => c.Index < n).Select(c => _input.Schema[c.Index]);
        return new Cursor(this, _input.GetRowCursor(inner), needed.Select(c => c.Index).ToHashSet());
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        new[] { GetRowCursor(columnsNeeded, rand) };

    private sealed class Cursor(AppendedColumnsDataView view, DataViewRowCursor inner, HashSet<int> active) : DataViewRowCursor
    {
        public override DataViewSchema Schema => view.Schema;
        public override long Position => inner.Position;
        public override long Batch => inner.Batch;
        public override bool MoveNext() => inner.MoveNext();
        public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => active.Contains(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            int n = view._input.Schema.Count;
            if (column.Index < n) return inner.GetGetter<TValue>(view._input.Schema[column.Index]);
            var values = view._extra[column.Index - n].Values;
            if (values is not TValue[] typed)
                throw new InvalidOperationException($"Column '{column.Name}' holds {values.GetType().GetElementType()!.Name}, not {typeof(TValue).Name}.");
            return (ref TValue value) => value = typed[inner.Position];
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
