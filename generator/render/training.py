"""Training figures: loss and accuracy per epoch (kind "training-curves") and the test set's
confusion matrix (kind "confusion-matrix")."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator, PercentFormatter

from generator.errors import DataError
from generator.names import zh_label
from generator.records import FigureSpec, History, RenderContext, Rendered
from generator.render.common import class_names, say
from generator.render.mpl import ON_DATA, escape_text, figure, save

TRAIN, VAL, BEST = "#2166ac", "#e08214", "#555555"


def _check_history(h: History) -> int:
    """Number of epochs; every per-epoch list must have one value per epoch."""
    epochs = len(h.train_loss)
    lengths = {len(h.train_loss), len(h.train_acc), len(h.val_loss), len(h.val_acc)}
    if epochs == 0 or len(lengths) != 1:
        raise DataError(
            "training-curves figure: the training history is empty or its lists differ in "
            "length; delete the cached model to retrain"
        )
    if not 1 <= h.best_epoch <= epochs:
        raise DataError(f"training-curves figure: best epoch {h.best_epoch} is outside 1..{epochs}; retrain")
    return epochs


def render_training_curves(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """Loss and accuracy, train vs validation, per epoch, with the kept epoch marked."""
    h = ctx.history
    epochs = _check_history(h)
    x = np.arange(1, epochs + 1)
    best = h.best_epoch
    width, height = 760, 380
    with figure(width, height) as fig:
        axes = [fig.add_axes((0.08, 0.15, 0.38, 0.69)), fig.add_axes((0.59, 0.15, 0.38, 0.69))]
        series = [
            (h.train_loss, h.val_loss, say(spec, "loss", "损失")),
            ([100 * a for a in h.train_acc], [100 * a for a in h.val_acc], say(spec, "accuracy", "准确率")),
        ]
        for ax, (train, val, name) in zip(axes, series, strict=True):
            ax.axvline(best, color=BEST, lw=1, ls=(0, (4, 3)), zorder=1)
            ax.plot(x, train, color=TRAIN, marker="o", ms=4, lw=2, label=say(spec, "train", "训练集"))
            ax.plot(x, val, color=VAL, marker="o", ms=4, lw=2, label=say(spec, "validation", "验证集"))
            ax.plot([best], [val[best - 1]], marker="*", ms=16, color=VAL, mec="white", mew=1, zorder=5)
            ax.set_title(name, fontsize=14)
            ax.set_xlabel(say(spec, "epoch", "训练轮次（epoch）"), fontsize=11)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=12))
            ax.set_xlim(0.5, epochs + 0.5)
            ax.grid(True, color="#e6e6e6", lw=0.6)
            ax.set_axisbelow(True)
        axes[1].yaxis.set_major_formatter(PercentFormatter(decimals=0))
        axes[0].legend(loc="upper right", frameon=False, fontsize=10)
        best_val = 100 * h.val_acc[best - 1]
        axes[1].annotate(
            say(spec, f"\u2605 epoch {best}: {best_val:.1f} %", f"\u2605 第 {best} 轮：{best_val:.1f} %"),
            (best, best_val),
            xytext=(0, -26),
            textcoords="offset points",
            ha="center" if 1 < best < epochs else "left" if best == 1 else "right",
            fontsize=10,
            color=BEST,
        )
        data, width, height = save(fig, ctx)
    train_best = 100 * h.train_acc[best - 1]
    alt = {
        "zh": f"训练曲线：{epochs} 个 epoch 中训练集与验证集的损失（左）和准确率（右）。验证准确率在第 {best} 个 "
        f"epoch 最高（{best_val:.1f}%，训练准确率 {train_best:.1f}%），这一轮的权重被保留；"
        f"最终训练损失 {h.train_loss[-1]:.3f}，验证损失 {h.val_loss[-1]:.3f}。",
        "en": f"Training curves over {epochs} epochs: loss (left) and accuracy (right) on the training and "
        f"validation sets. Validation accuracy peaks at epoch {best} ({best_val:.1f} %, training "
        f"{train_best:.1f} %), whose weights are kept; final training loss {h.train_loss[-1]:.3f}, "
        f"validation loss {h.val_loss[-1]:.3f}.",
    }
    caption = {
        "zh": f"训练 {epochs} 个 epoch；星号标出验证准确率最高的第 {best} 个 epoch（{best_val:.1f}%）。",
        "en": f"{epochs} epochs of training; the star marks epoch {best}, the best validation accuracy "
        f"({best_val:.1f} %).",
    }
    return Rendered(data=data, width=width, height=height, alt=alt, caption=caption)


def accuracy(confusion: np.ndarray) -> float:
    """Share of correct predictions: the diagonal over the total."""
    total = int(confusion.sum())
    if total == 0:
        raise DataError(
            "confusion-matrix figure: the confusion matrix is empty (no test images); check the dataset's test split"
        )
    return float(np.trace(confusion)) / total


def render_confusion_matrix(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """Counts of (true class, predicted class) on the test set, accuracy in the title."""
    cm = np.asarray(ctx.confusion, dtype=np.int64)  # (C, C): rows true, columns predicted
    count = len(ctx.classes)
    if cm.shape != (count, count):
        raise DataError(
            f"confusion-matrix figure: matrix is {cm.shape}, expected ({count}, {count}) for "
            f"{count} classes; rebuild the model"
        )
    acc = accuracy(cm)
    total, correct = int(cm.sum()), int(np.trace(cm))
    names = [escape_text(c) for c in class_names(spec, ctx)]
    cell = 46 if count <= 10 else max(16, 460 // count)
    left, bottom = 170, 120
    width, height = left + count * cell + 100, bottom + count * cell + 60
    with figure(width, height) as fig:
        ax = fig.add_axes((left / width, bottom / height, count * cell / width, count * cell / height))
        im = ax.imshow(cm, cmap="Blues", vmin=0, vmax=max(1, int(cm.max())))
        ax.set_xticks(range(count), names, rotation=40, ha="right", rotation_mode="anchor", fontsize=10)
        ax.set_yticks(range(count), names, fontsize=10)
        ax.set_xlabel(say(spec, "predicted class", "预测类别"), fontsize=11)
        ax.set_ylabel(say(spec, "true class", "真实类别"), fontsize=11)
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(True)
        if cell >= 28:  # numbers only where they fit
            for (r, c), v in np.ndenumerate(cm):
                ax.text(
                    c,
                    r,
                    str(v),
                    ha="center",
                    va="center",
                    fontsize=10 if cell >= 40 else 8,
                    color="white" if v > 0.55 * cm.max() else "#222222",
                    gid=ON_DATA,
                )
        title = say(spec, f"test accuracy {100 * acc:.1f} %", f"测试集准确率 {100 * acc:.1f} %")
        ax.set_title(f"{title}  ({correct:,} / {total:,})", fontsize=14, pad=12)
        cax = fig.add_axes(((left + count * cell + 16) / width, bottom / height, 14 / width, count * cell / height))
        bar = fig.colorbar(im, cax=cax)
        bar.ax.tick_params(labelsize=10, length=2)
        bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        bar.set_label(say(spec, "images", "图像数"), fontsize=10)
        data, width, height = save(fig, ctx)
    off = cm.copy()
    np.fill_diagonal(off, -1)
    r, c = np.unravel_index(int(np.argmax(off)), off.shape)
    worst_zh = f"{zh_label(ctx.classes[r])} → {zh_label(ctx.classes[c])}，{cm[r, c]} 张"
    worst = f"{ctx.classes[r]} → {ctx.classes[c]} ({cm[r, c]})"
    per_class = cm.diagonal() / np.maximum(cm.sum(axis=1), 1)
    hard = int(np.argmin(per_class))
    alt = {
        "zh": f"测试集混淆矩阵（{count}×{count}）：行是真实类别，列是预测类别，格子里是图像数量。"
        f"准确率 {100 * acc:.1f}%（{correct}/{total}）；最常见的混淆是 {worst_zh}；"
        f"最难的类别是 {zh_label(ctx.classes[hard])}（{100 * per_class[hard]:.1f}% 正确）。",
        "en": f"Confusion matrix on the test set ({count}×{count}): rows are true classes, columns predicted "
        f"classes, cells count images. Accuracy {100 * acc:.1f} % ({correct}/{total}); the most common "
        f"confusion is {worst}; the hardest class is "
        f"{ctx.classes[hard]} ({100 * per_class[hard]:.1f} % correct).",
    }
    caption = {
        "zh": f"测试集上的混淆矩阵：对角线是分类正确的图像，准确率 {100 * acc:.1f}%。",
        "en": f"Confusion matrix on the test set: the diagonal holds the correctly classified images; "
        f"accuracy {100 * acc:.1f} %.",
    }
    return Rendered(data=data, width=width, height=height, alt=alt, caption=caption)
