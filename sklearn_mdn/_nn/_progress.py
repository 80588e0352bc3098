"""What a training run prints: the epoch table and the progress bar."""

import re
import sys

from skorch.callbacks import Callback, PrintLog

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class EpochProgressBar(Callback):
    """A tqdm progress bar over the epochs of a fit, with the latest losses.

    Parameters
    ----------
    file : file-like or None, default=None
        Where the bar is drawn; None means ``sys.stderr``.
    """

    def __init__(self, file=None):
        self.file = file

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(
            total=net.max_epochs,
            unit="epoch",
            file=self.file,
            dynamic_ncols=True,
            disable=None,  # off when its stream is not a terminal
        )

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        losses = {k: f"{row[k]:.4f}" for k in ("train_loss", "valid_loss") if k in row}
        self.bar_.set_postfix(losses, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        # Drop the bar: it holds a stream, which would make the net unpicklable.
        self.bar_.close()
        del self.bar_


class _PlainPrintLog(PrintLog):
    """skorch's per-epoch table, without colour codes off a terminal."""

    def format_row(self, row, key, color):
        text = super().format_row(row, key, color)
        return text if sys.stdout.isatty() else _ANSI.sub("", text)


def _tqdm_write():
    """``tqdm.write`` when tqdm is installed, else None."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm.write
