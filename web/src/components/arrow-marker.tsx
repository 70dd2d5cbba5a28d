/** The arrowhead that graph edges (lineage, pipeline DAG) end with: `<polyline markerEnd="url(#id)">`. */
export function ArrowMarker({ id }: { id: string }) {
  return (
    <defs>
      <marker id={id} viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">
        <path d="M 0 0 L 10 5 L 0 10 z" className="arrow" />
      </marker>
    </defs>
  );
}
