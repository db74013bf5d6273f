using Microsoft.ML;
using Microsoft.ML.Data;

namespace Sgnas.MLNet.Data;

/// <summary>
/// Passes an image-folder view through, adding the file's path to decoding errors, which ML.NET's image
/// transforms lack. Only visible columns are exposed. A single cursor is made serial (a cursor set of one):
/// ML.NET's default single cursor decodes on worker threads and reports a bad image from MoveNext, where the
/// row is unknown. Parallel consumers still get parallel cursors from <see cref="GetRowCursorSet"/>.
/// </summary>
internal sealed class ImageErrorContextDataView : IDataView
{
    private readonly IDataView _inner;
    private readonly int[] _innerIndex;
    private readonly int _features;
    private readonly DataViewSchema.Column _innerPath;

    public ImageErrorContextDataView(IDataView inner)
    {
        _inner = inner;
        var visible = inner.Schema.Where(c => !c.IsHidden).ToArray();
        _innerIndex = visible.Select(c => c.Index).ToArray();
        var builder = new DataViewSchema.Builder();
        foreach (var c in visible) builder.AddColumn(c.Name, c.Type, c.Annotations);
        Schema = builder.ToSchema();
        _features = Schema[ImageColumns.Features].Index;
        _innerPath = inner.Schema[ImageColumns.ImagePath];
    }

    public bool CanShuffle => _inner.CanShuffle;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _inner.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var cols = InnerColumns(columnsNeeded, out var needPath);
        var set = _inner.GetRowCursorSet(cols, 1, rand);
        if (set.Length == 1) return new Cursor(this, set[0], needPath);
        // n is only a suggestion; with several cursors fall back to ML.NET's own consolidating cursor.
        foreach (var c in set) c.Dispose();
        return new Cursor(this, _inner.GetRowCursor(cols, rand), needPath);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        _inner.GetRowCursorSet(InnerColumns(columnsNeeded, out var needPath), n, rand).Select(c => (DataViewRowCursor)new Cursor(this, c, needPath)).ToArray();

    private List<DataViewSchema.Column> InnerColumns(IEnumerable<DataViewSchema.Column> outer, out bool needPath)
    {
        var cols = outer.Select(c => _inner.Schema[_innerIndex[c.Index]]).ToList();
        // The path is read to name the file when decoding fails.
        needPath = cols.Any(c => c.Name == ImageColumns.Features);
        if (needPath && cols.All(c => c.Index != _innerPath.Index)) cols.Add(_innerPath);
        return cols;
    }

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly ImageErrorContextDataView _view;
        private readonly DataViewRowCursor _inner;
        private readonly ValueGetter<ReadOnlyMemory<char>>? _path;

        public Cursor(ImageErrorContextDataView view, DataViewRowCursor inner, bool needPath)
        {
            _view = view;
            _inner = inner;
            if (needPath) _path = inner.GetGetter<ReadOnlyMemory<char>>(view._innerPath);
        }

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _inner.Position;

        public override long Batch => _inner.Batch;

        public override bool MoveNext() => _inner.MoveNext();

        public override ValueGetter<DataViewRowId> GetIdGetter() => _inner.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _inner.IsColumnActive(Inner(column));

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var getter = _inner.GetGetter<TValue>(Inner(column));
            if (column.Index != _view._features || _path == null) return getter;
            return (ref TValue value) =>
            {
                try { getter(ref value); }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    ReadOnlyMemory<char> path = default;
                    _path(ref path);
                    throw new InvalidDataException($"image '{path}' (row {Position}) could not be read as an image: {e.Message}", e);
                }
            };
        }

        private DataViewSchema.Column Inner(DataViewSchema.Column column) => _inner.Schema[_view._innerIndex[column.Index]];

        protected override void Dispose(bool disposing)
        {
            if (disposing) _inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
