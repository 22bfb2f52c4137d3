import { type ReactNode, type RefObject, useLayoutEffect, useRef, useState } from "react";

/** Whether an element's content is larger than its box, so it scrolls. */
function useOverflows(ref: RefObject<HTMLElement | null>): boolean {
  const [overflows, setOverflows] = useState(false);
  const measure = () => {
    const el = ref.current;
    if (el) setOverflows(el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1);
  };
  // after every render (new rows, new log lines) and whenever the box or its content changes size
  useLayoutEffect(measure);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the observer is set up once per element; measure reads the ref
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    for (const child of Array.from(el.children)) observer.observe(child);
    return () => observer.disconnect();
  }, [ref]);
  return overflows;
}

/**
 * A box that scrolls what does not fit (a wide table, a long log). While it scrolls it is a named region in the
 * tab order, so a keyboard user can reach it and scroll it with the arrow keys; when everything fits it is a plain box
 * and adds no tab stop.
 */
export function ScrollRegion({
  label,
  className,
  as = "div",
  children,
}: {
  /** What the region holds, read out when it gets focus. */
  label: string;
  className?: string;
  as?: "div" | "pre";
  children: ReactNode;
}) {
  const ref = useRef<HTMLDivElement & HTMLPreElement>(null);
  const overflows = useOverflows(ref);
  const Tag = as;
  const focusable = overflows ? { tabIndex: 0, role: "region", "aria-label": label } : {};
  return (
    <Tag ref={ref} className={`scroll-region ${className ?? ""}`} {...focusable}>
      {children}
    </Tag>
  );
}
