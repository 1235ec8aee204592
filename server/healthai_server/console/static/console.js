// Keyboard-first review. The pages work without this file (plain forms and radio buttons);
// this adds the keys listed under "?" and the add-from-selection form. No note text leaves the
// page except in the form the reviewer submits.
(() => {
  'use strict';

  const page = document.body.dataset.page;
  const help = document.getElementById('help');
  const status = document.getElementById('status');

  const isField = (el) =>
    el instanceof HTMLElement &&
    (el.isContentEditable ||
      el.tagName === 'SELECT' ||
      el.tagName === 'TEXTAREA' ||
      (el.tagName === 'INPUT' && !['radio', 'checkbox', 'button', 'submit', 'hidden'].includes(el.type)));

  const say = (message) => {
    if (status) status.textContent = message;
  };

  document.querySelectorAll('[data-help]').forEach((button) =>
    button.addEventListener('click', () => help.showModal()),
  );

  const follow = (key) => {
    const link = document.querySelector(`[data-key="${key}"]`);
    if (link) link.click();
    return Boolean(link);
  };

  const submitForm = (id) => {
    const form = document.getElementById(id);
    if (form) form.requestSubmit();
    return Boolean(form);
  };

  // -- the queue ---------------------------------------------------------------------------

  const queue = () => {
    const rows = Array.from(document.querySelectorAll('[data-row]'));
    let current = 0;
    const select = (index) => {
      if (!rows.length) return;
      current = Math.max(0, Math.min(rows.length - 1, index));
      rows.forEach((row, i) => row.classList.toggle('current', i === current));
      rows[current].setAttribute('aria-selected', 'true');
      rows[current].scrollIntoView({ block: 'nearest' });
    };
    select(0);
    rows.forEach((row, i) => row.addEventListener('click', () => select(i)));
    // Enter in a filter applies the filters (a select does not submit its form by itself).
    const filters = document.getElementById('filters');
    filters.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && event.target.tagName === 'SELECT') {
        event.preventDefault();
        filters.requestSubmit();
      }
    });
    return (event) => {
      switch (event.key) {
        case 'j':
        case 'ArrowDown':
          select(current + 1);
          return true;
        case 'k':
        case 'ArrowUp':
          select(current - 1);
          return true;
        case 'Enter':
          if (rows.length) rows[current].querySelector('[data-open]').click();
          return true;
        case 'n':
          return submitForm('next-form');
        case 'f':
          document.querySelector('#filters select, #filters input').focus();
          return true;
        case ']':
          return follow(']');
        default:
          return false;
      }
    };
  };

  // -- a task ------------------------------------------------------------------------------

  const task = () => {
    const form = document.getElementById('decide');
    const note = document.getElementById('note');
    const items = Array.from(document.querySelectorAll('#items > .item'));
    const added = document.getElementById('added');
    const template = document.getElementById('add-template');
    const locked = form.querySelector('fieldset').disabled;
    let current = 0;

    const radios = (item) => Array.from(item.querySelectorAll('.decision input[type=radio]'));
    const decisionOf = (item) => (radios(item).find((r) => r.checked) || {}).value || '';
    const correction = (item) => item.querySelector('fieldset.correction');

    const required = (item) => item.dataset.flagged !== undefined;
    const flagged = items.filter(required);

    const refresh = () => {
      const decided = flagged.filter((item) => decisionOf(item)).length;
      items.forEach((item) => {
        item.dataset.decision = decisionOf(item);
      });
      const counts = document.getElementById('counts');
      if (counts) counts.textContent = `· ${decided} of ${flagged.length} flagged decided`;
    };

    const select = (index) => {
      if (!items.length) return;
      current = Math.max(0, Math.min(items.length - 1, index));
      items.forEach((item, i) => item.classList.toggle('current', i === current));
      note.querySelectorAll('.hl').forEach((span) => {
        span.classList.toggle('hl-current', span.dataset.items.split(' ').includes(String(current)));
      });
      items[current].scrollIntoView({ block: 'nearest' });
      const mark = note.querySelector('.hl-current');
      if (mark) mark.scrollIntoView({ block: 'nearest' });
    };

    const decide = (value) => {
      const item = items[current];
      const radio = radios(item).find((r) => r.value === value);
      radio.checked = true;
      correction(item).hidden = value !== 'correct';
      refresh();
    };

    const nextUndecided = () => {
      for (let step = 1; step <= items.length; step += 1) {
        const index = (current + step) % items.length;
        if (required(items[index]) && !decisionOf(items[index])) return index;
      }
      return Math.min(current + 1, items.length - 1);
    };

    const openCorrection = () => {
      const item = items[current];
      decide('correct');
      const first = correction(item).querySelector('input:not([type=hidden]), select');
      if (first) first.focus();
    };

    const fieldsChanged = (item) =>
      Array.from(correction(item).querySelectorAll('[name*="-field-"]')).some((el) => {
        const was = item.querySelector(`[name="${el.name.replace('-field-', '-was-')}"]`);
        return was && was.value.trim() !== el.value.trim();
      });

    const cancelCorrection = (item) => {
      correction(item)
        .querySelectorAll('[name*="-field-"]')
        .forEach((el) => {
          const was = item.querySelector(`[name="${el.name.replace('-field-', '-was-')}"]`);
          if (was) el.value = was.value;
        });
      radios(item).forEach((r) => {
        r.checked = false;
      });
      correction(item).hidden = true;
      refresh();
    };

    // The selection's ends as code-point offsets into the note (the service counts code points,
    // JavaScript counts UTF-16 units), trimmed of surrounding white space.
    const pointOffset = (node, offset) => {
      if (node === note) {
        const child = note.childNodes[offset];
        return child ? Number(child.dataset.start) : Array.from(note.textContent).length;
      }
      const element = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
      const piece = element && element.closest('[data-start]');
      if (!piece || !note.contains(piece)) return null;
      const before = node.nodeType === Node.TEXT_NODE ? node.data.slice(0, offset) : offset ? piece.textContent : '';
      return Number(piece.dataset.start) + Array.from(before).length;
    };

    const selectedSpan = () => {
      const selection = window.getSelection();
      if (!selection || selection.isCollapsed || !selection.rangeCount) return null;
      const range = selection.getRangeAt(0);
      let start = pointOffset(range.startContainer, range.startOffset);
      let end = pointOffset(range.endContainer, range.endOffset);
      if (start === null || end === null) return null;
      const chars = Array.from(note.textContent);
      while (start < end && /\s/u.test(chars[start])) start += 1;
      while (end > start && /\s/u.test(chars[end - 1])) end -= 1;
      if (start >= end) return null;
      return { start, end, text: chars.slice(start, end).join('') };
    };

    // "/" finds text in the note and selects it, so a missed item can be added without a mouse.
    const find = document.getElementById('find');
    const findText = document.getElementById('find-text');
    let findFrom = 0;
    const locate = (offset) => {
      const walker = document.createTreeWalker(note, NodeFilter.SHOW_TEXT);
      let seen = 0;
      let last = null;
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (offset <= seen + node.data.length) return [node, offset - seen];
        seen += node.data.length;
        last = node;
      }
      return [last, last ? last.data.length : 0];
    };
    const selectMatch = () => {
      const wanted = findText.value;
      const text = note.textContent;
      if (!wanted) return;
      let at = text.indexOf(wanted, findFrom);
      if (at < 0) at = text.indexOf(wanted);
      if (at < 0) {
        say('Not in the note.');
        return;
      }
      findFrom = at + 1;
      const range = document.createRange();
      range.setStart(...locate(at));
      range.setEnd(...locate(at + wanted.length));
      findText.blur();
      find.hidden = true;
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      say('Selected in the note: press + to add it as an item.');
    };
    findText.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        event.stopPropagation();
        selectMatch();
      } else if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        findText.blur();
        find.hidden = true;
      }
    });
    const openFind = () => {
      find.hidden = false;
      findText.select();
      findText.focus();
    };

    const addFromSelection = () => {
      const span = selectedSpan();
      if (!span) {
        say('Select the missed text in the note first, then press +.');
        return;
      }
      const index = added.querySelectorAll('[data-added]').length;
      const fragment = template.content.cloneNode(true);
      fragment.querySelectorAll('[name]').forEach((el) => {
        el.name = el.name.replace('__K__', String(index));
      });
      const row = fragment.querySelector('[data-added]');
      row.dataset.added = String(index);
      row.querySelector(`[name="add-${index}-start"]`).value = String(span.start);
      row.querySelector(`[name="add-${index}-end"]`).value = String(span.end);
      row.querySelector(`[name="add-${index}-text"]`).value = span.text;
      row.querySelector('[data-add-text]').textContent = span.text;
      added.appendChild(fragment);
      showTypeFields(row);
      window.getSelection().removeAllRanges();
      row.querySelector('select').focus();
      say(`Added a ${span.end - span.start}-character span: choose its type.`);
    };

    const renumberAdded = () => {
      added.querySelectorAll('[data-added]').forEach((row, index) => {
        row.dataset.added = String(index);
        row.querySelectorAll('[name]').forEach((el) => {
          el.name = el.name.replace(/^add-\d+-/, `add-${index}-`);
        });
      });
    };

    added.addEventListener('click', (event) => {
      const remove = event.target.closest('[data-remove]');
      if (remove) {
        remove.closest('[data-added]').remove();
        renumberAdded();
      }
    });

    const submit = () => {
      const undecided = items.findIndex((item) => required(item) && !decisionOf(item));
      if (undecided >= 0) {
        select(undecided);
        const left = flagged.filter((item) => !decisionOf(item)).length;
        say(`${left} flagged item(s) have no decision yet: a, r or c on each, or A to accept the rest.`);
        return;
      }
      say('Submitting…');
      form.requestSubmit();
    };

    items.forEach((item, index) => {
      item.addEventListener('click', () => select(index));
      radios(item).forEach((radio) =>
        radio.addEventListener('change', () => {
          correction(item).hidden = radio.value !== 'correct' || !radio.checked;
          refresh();
        }),
      );
    });
    note.addEventListener('click', (event) => {
      const mark = event.target.closest('.hl');
      if (mark && window.getSelection().isCollapsed) select(Number(mark.dataset.items.split(' ')[0]));
    });
    document.getElementById('accept-rest').addEventListener('click', () => {
      flagged.forEach((item) => {
        if (!decisionOf(item)) radios(item).find((r) => r.value === 'accept').checked = true;
      });
      refresh();
    });

    // An added item shows only the fields of its chosen type.
    const showTypeFields = (row) => {
      const chosen = row.querySelector('[data-add-type]').value;
      row.querySelectorAll('[data-for-type]').forEach((group) => {
        group.hidden = group.dataset.forType !== chosen;
      });
    };
    added.querySelectorAll('[data-added]').forEach(showTypeFields);
    added.addEventListener('change', (event) => {
      if (event.target.matches('[data-add-type]')) showTypeFields(event.target.closest('[data-added]'));
    });

    // Keys while typing in a correction or an added item: Enter is done, Escape cancels.
    form.addEventListener('keydown', (event) => {
      if (!isField(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
      const item = event.target.closest('.item');
      if (!item) return;
      if (event.key === 'Enter') {
        event.preventDefault();
        if (item.dataset.added === undefined && !fieldsChanged(item)) {
          cancelCorrection(item);
          say('Nothing changed: the correction was dropped.');
        } else {
          say(item.dataset.added === undefined ? 'Correction kept.' : 'Added item kept.');
        }
        event.target.blur();
        event.stopPropagation();
        if (item.dataset.added === undefined) select(nextUndecided());
      } else if (event.key === 'Escape') {
        event.preventDefault();
        event.target.blur();
        event.stopPropagation();
        if (item.dataset.added === undefined) {
          cancelCorrection(item);
        } else {
          item.remove();
          renumberAdded();
          say('Added item removed.');
        }
      }
    });

    const lease = document.getElementById('lease');
    if (lease) {
      const ends = Date.now() + Number(lease.dataset.seconds) * 1000;
      const tick = () => {
        const left = Math.round((ends - Date.now()) / 1000);
        lease.textContent =
          left > 0 ? `claim ends in ${Math.floor(left / 60)} min ${left % 60} s` : 'claim expired: claim the task again';
        lease.classList.toggle('expired', left <= 0);
      };
      tick();
      window.setInterval(tick, 1000);
    }

    refresh();
    select(0);

    return (event) => {
      switch (event.key) {
        case 'j':
        case 'ArrowDown':
          select(current + 1);
          return true;
        case 'k':
        case 'ArrowUp':
          select(current - 1);
          return true;
        case 'n':
          return submitForm('next-form');
        case 'q':
          return follow('q');
        default:
          break;
      }
      if (locked || !items.length) {
        if (event.key === 'Enter') say('Claim this task before deciding on it.');
        return event.key === 'Enter';
      }
      switch (event.key) {
        case 'a':
          decide('accept');
          select(nextUndecided());
          return true;
        case 'r':
          decide('reject');
          select(nextUndecided());
          return true;
        case 'c':
          openCorrection();
          return true;
        case 'u':
          cancelCorrection(items[current]);
          return true;
        case 'A':
          document.getElementById('accept-rest').click();
          return true;
        case '+':
          addFromSelection();
          return true;
        case '/':
          openFind();
          return true;
        case 'Enter':
          submit();
          return true;
        default:
          return false;
      }
    };
  };

  const other = () => (event) => (event.key === 'q' ? follow('q') : false);

  const handler = page === 'queue' ? queue() : page === 'task' ? task() : other();

  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (help.open) {
      if (event.key === '?') {
        help.close();
        event.preventDefault();
      }
      return;
    }
    if (isField(event.target)) {
      if (event.key === 'Escape') event.target.blur();
      return;
    }
    // A focused button or link keeps its own Enter and Space (Filter, Sign out, a link).
    if ((event.key === 'Enter' || event.key === ' ') && event.target.closest('button, a')) return;
    if (event.key === '?') {
      help.showModal();
      event.preventDefault();
      return;
    }
    if (handler(event)) event.preventDefault();
  });
})();
