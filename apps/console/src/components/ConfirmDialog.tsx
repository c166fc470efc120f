import { useEffect, useRef, type ReactNode } from 'react';
import { ErrorMessage } from './states';

/**
 * Asks before something that cannot be undone (deleting, revoking). A native modal <dialog>:
 * the browser keeps focus inside it, Escape cancels, and focus returns where it was. The
 * confirming button is not the default one, so a stray Enter does not confirm.
 */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  pending = false,
  error = null,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  pending?: boolean;
  error?: unknown;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (open && !element.open) element.showModal();
    if (!open && element.open) element.close();
  }, [open]);
  return (
    <dialog
      ref={dialog}
      className="confirm-dialog"
      aria-labelledby="confirm-dialog-title"
      onCancel={(event) => {
        // Escape: the parent decides whether the dialog closes (not while a request runs).
        event.preventDefault();
        if (!pending) onCancel();
      }}
    >
      <h2 id="confirm-dialog-title">{title}</h2>
      {children}
      {error !== null && error !== undefined && <ErrorMessage error={error} />}
      <div className="dialog-actions">
        <button type="button" onClick={onCancel} disabled={pending} autoFocus>
          Cancel
        </button>
        <button type="button" className="danger" onClick={onConfirm} disabled={pending}>
          {pending ? 'Working…' : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
