// The console's words in English, Russian and Ukrainian; the browser's language picks them.
const words = {
  en: {
    skip: "Skip to content", brand: "CustomerGrains", signIn: "Sign in", apiKey: "API key", keyHint: "Kept for this tab only.",
    signOut: "Sign out", badKey: "This key is not valid.", customers: "Customers", knowledge: "Knowledge", queue: "Escalated questions",
    entries: "Knowledge base", dashboard: "Orleans dashboard", search: "Search by name, email, phone or external id", recent: "Recently active",
    noCustomers: "No customers found.", more: "Load more", lastActive: "Last active", profile: "Profile", name: "Name", emails: "Emails",
    phones: "Phones", language: "Language", timezone: "Time zone", identities: "Identities", segment: "Segment", why: "why",
    preferences: "Preferences", tone: "Tone", channel: "Channel", topics: "Topics (comma-separated)", doNotContact: "Do not contact",
    save: "Save", saved: "Saved.", stats: "Activity", interactions: "Interactions", last30: "Last 30 days", firstSeen: "First seen",
    lastSeen: "Last seen", summary: "Earlier conversation", conversation: "Conversation", older: "Load older messages",
    noMessages: "No messages yet.", live: "Live", reconnecting: "Reconnecting…", suggestions: "Suggested replies",
    messageToAnswer: "Message to answer (empty: the customer's last message)", suggest: "Suggest replies", working: "Working…",
    generated: "generated", retrieved: "from the knowledge base", confidence: "Confidence", unverified: "Unverified: cites no source",
    sources: "Sources", pastReply: "past reply", agent: "Agent", bot: "bot", inLanguage: "Not in the customer's language", copy: "Copy", copied: "Copied.", accept: "Accept", accepted: "Accepted.", edit: "Edit",
    sendEdited: "Send edited", acceptEdited: "Accept edited (sent elsewhere)", editedText: "Edited reply",
    send: "Send", sending: "Sending…", sent: "Sent to the CRM.", sendFailed: "Not sent", ownReply: "Your own reply", reject: "Reject", rejectReason: "Why is it wrong?", rejected: "Rejected.",
    promote: "Add to knowledge base", promoted: "Added to the knowledge base.", degraded: "Knowledge-base answers only",
    dropped: "A draft was withdrawn: it was not usable text.", ask: "Ask", yourQuestion: "Your question", answer: "Answer",
    related: "You may also want", similar: "Is it one of these?", notHere: "My question is not here", escalated: "Sent to a senior.",
    myQuestions: "My questions", noQuestions: "No questions yet.", refresh: "Refresh", statusUnanswered: "No answer",
    statusAwaitingSenior: "Awaiting a senior", statusAddedToKb: "Added to the knowledge base", statusFaq: "Frequently asked",
    asked: "Asked", times: "times", noneWaiting: "No questions are waiting.", answerForm: "Your answer", tags: "Tags (comma-separated)",
    rewording: "Question as the knowledge base should read it (optional)", sendAnswer: "Answer and add to the knowledge base",
    answered: "Answered.", filter: "Filter entries", question: "Question", aliases: "Other wordings", delete: "Delete",
    deleted: "Deleted.", import: "Import entries (JSON file)", imported: "Imported: {0}.", export: "Export", entry: "Entry",
    back: "Back", notFound: "Not found.", source: "Source", dashboardHint: "For operators: any user name, and an operator key (not a tenant key) as the password.",
    loading: "Loading…", error: "Something went wrong: {0}", cancel: "Cancel", newMessage: "New message",
  },
  ru: {
    skip: "К содержимому", brand: "CustomerGrains", signIn: "Войти", apiKey: "API-ключ", keyHint: "Хранится только в этой вкладке.",
    signOut: "Выйти", badKey: "Ключ недействителен.", customers: "Клиенты", knowledge: "Знания", queue: "Эскалированные вопросы",
    entries: "База знаний", dashboard: "Панель Orleans", search: "Поиск по имени, почте, телефону или внешнему id", recent: "Недавно активные",
    noCustomers: "Клиенты не найдены.", more: "Показать ещё", lastActive: "Активность", profile: "Профиль", name: "Имя", emails: "Почта",
    phones: "Телефоны", language: "Язык", timezone: "Часовой пояс", identities: "Идентификаторы", segment: "Сегмент", why: "почему",
    preferences: "Предпочтения", tone: "Тон", channel: "Канал", topics: "Темы (через запятую)", doNotContact: "Не связываться",
    save: "Сохранить", saved: "Сохранено.", stats: "Активность", interactions: "Сообщений", last30: "За 30 дней", firstSeen: "Впервые",
    lastSeen: "Последний раз", summary: "Ранее в разговоре", conversation: "Разговор", older: "Загрузить более ранние",
    noMessages: "Сообщений пока нет.", live: "В эфире", reconnecting: "Переподключение…", suggestions: "Предлагаемые ответы",
    messageToAnswer: "Сообщение для ответа (пусто: последнее сообщение клиента)", suggest: "Предложить ответы", working: "Готовим…",
    generated: "сгенерирован", retrieved: "из базы знаний", confidence: "Уверенность", unverified: "Не проверено: нет источника",
    sources: "Источники", pastReply: "прошлый ответ", agent: "Агент", bot: "бот", inLanguage: "Не на языке клиента", copy: "Копировать", copied: "Скопировано.", accept: "Принять", accepted: "Принято.",
    edit: "Изменить", sendEdited: "Отправить изменённый", acceptEdited: "Принять изменённый (отправлен иначе)", editedText: "Изменённый ответ",
    send: "Отправить", sending: "Отправляется…", sent: "Отправлено в CRM.", sendFailed: "Не отправлено", ownReply: "Свой ответ", reject: "Отклонить", rejectReason: "Что не так?",
    rejected: "Отклонено.", promote: "Добавить в базу знаний", promoted: "Добавлено в базу знаний.", degraded: "Только ответы из базы знаний",
    dropped: "Черновик отозван: это был не текст.", ask: "Спросить", yourQuestion: "Ваш вопрос", answer: "Ответ",
    related: "Возможно, вам также нужно", similar: "Это один из этих вопросов?", notHere: "Моего вопроса здесь нет",
    escalated: "Отправлено старшему специалисту.", myQuestions: "Мои вопросы", noQuestions: "Вопросов пока нет.", refresh: "Обновить",
    statusUnanswered: "Без ответа", statusAwaitingSenior: "Ждёт старшего специалиста", statusAddedToKb: "Добавлен в базу знаний",
    statusFaq: "Частый вопрос", asked: "Задан", times: "раз", noneWaiting: "Нет ожидающих вопросов.", answerForm: "Ваш ответ",
    tags: "Теги (через запятую)", rewording: "Формулировка вопроса для базы знаний (необязательно)",
    sendAnswer: "Ответить и добавить в базу знаний", answered: "Ответ отправлен.", filter: "Фильтр записей", question: "Вопрос",
    aliases: "Другие формулировки", delete: "Удалить", deleted: "Удалено.", import: "Импорт записей (файл JSON)",
    imported: "Импортировано: {0}.", export: "Экспорт", entry: "Запись", back: "Назад", notFound: "Не найдено.", source: "Источник",
    dashboardHint: "Для операторов: любое имя пользователя и ключ оператора (не ключ арендатора) как пароль.", loading: "Загрузка…",
    error: "Что-то пошло не так: {0}", cancel: "Отмена", newMessage: "Новое сообщение",
  },
  uk: {
    skip: "До вмісту", brand: "CustomerGrains", signIn: "Увійти", apiKey: "API-ключ", keyHint: "Зберігається лише в цій вкладці.",
    signOut: "Вийти", badKey: "Ключ недійсний.", customers: "Клієнти", knowledge: "Знання", queue: "Ескальовані питання",
    entries: "База знань", dashboard: "Панель Orleans", search: "Пошук за ім'ям, поштою, телефоном або зовнішнім id",
    recent: "Нещодавно активні", noCustomers: "Клієнтів не знайдено.", more: "Показати ще", lastActive: "Активність", profile: "Профіль",
    name: "Ім'я", emails: "Пошта", phones: "Телефони", language: "Мова", timezone: "Часовий пояс", identities: "Ідентифікатори",
    segment: "Сегмент", why: "чому", preferences: "Уподобання", tone: "Тон", channel: "Канал", topics: "Теми (через кому)",
    doNotContact: "Не контактувати", save: "Зберегти", saved: "Збережено.", stats: "Активність", interactions: "Повідомлень",
    last30: "За 30 днів", firstSeen: "Уперше", lastSeen: "Востаннє", summary: "Раніше в розмові", conversation: "Розмова",
    older: "Завантажити раніші", noMessages: "Повідомлень ще немає.", live: "Наживо", reconnecting: "Перепідключення…",
    suggestions: "Запропоновані відповіді", messageToAnswer: "Повідомлення для відповіді (порожньо: останнє повідомлення клієнта)",
    suggest: "Запропонувати відповіді", working: "Готуємо…", generated: "згенеровано", retrieved: "з бази знань",
    confidence: "Впевненість", unverified: "Не перевірено: немає джерела", sources: "Джерела", pastReply: "минула відповідь", agent: "Агент", bot: "бот", inLanguage: "Не мовою клієнта",
    copy: "Копіювати", copied: "Скопійовано.", accept: "Прийняти", accepted: "Прийнято.", edit: "Змінити", sendEdited: "Надіслати змінену", acceptEdited: "Прийняти змінену (надіслано інакше)",
    send: "Надіслати", sending: "Надсилається…", sent: "Надіслано в CRM.", sendFailed: "Не надіслано", ownReply: "Власна відповідь",
    editedText: "Змінена відповідь", reject: "Відхилити", rejectReason: "Що не так?", rejected: "Відхилено.",
    promote: "Додати до бази знань", promoted: "Додано до бази знань.", degraded: "Лише відповіді з бази знань",
    dropped: "Чернетку відкликано: це був не текст.", ask: "Запитати", yourQuestion: "Ваше питання", answer: "Відповідь",
    related: "Можливо, вам також потрібно", similar: "Це одне з цих питань?", notHere: "Мого питання тут немає",
    escalated: "Надіслано старшому фахівцю.", myQuestions: "Мої питання", noQuestions: "Питань ще немає.", refresh: "Оновити",
    statusUnanswered: "Без відповіді", statusAwaitingSenior: "Чекає старшого фахівця", statusAddedToKb: "Додано до бази знань",
    statusFaq: "Часте питання", asked: "Поставлено", times: "разів", noneWaiting: "Немає питань, що чекають.", answerForm: "Ваша відповідь",
    tags: "Теги (через кому)", rewording: "Формулювання питання для бази знань (необов'язково)",
    sendAnswer: "Відповісти й додати до бази знань", answered: "Відповідь надіслано.", filter: "Фільтр записів", question: "Питання",
    aliases: "Інші формулювання", delete: "Видалити", deleted: "Видалено.", import: "Імпорт записів (файл JSON)",
    imported: "Імпортовано: {0}.", export: "Експорт", entry: "Запис", back: "Назад", notFound: "Не знайдено.", source: "Джерело",
    dashboardHint: "Для операторів: будь-яке ім'я користувача та ключ оператора (не ключ орендаря) як пароль.", loading: "Завантаження…",
    error: "Щось пішло не так: {0}", cancel: "Скасувати", newMessage: "Нове повідомлення",
  },
};

export const lang = (navigator.languages || [navigator.language || "en"])
  .map(l => l.toLowerCase().split("-")[0])
  .find(l => l in words) || "en";

/** The word for key in the browser's language, with {0}, {1}... filled in. */
export function t(key, ...args) {
  const text = words[lang][key] ?? words.en[key] ?? key;
  return args.reduce((s, a, i) => s.replace(`{${i}}`, a), text);
}

export function formatTime(iso) {
  return iso ? new Date(iso).toLocaleString(lang) : "";
}
